"""What an ingest run did, in the exact shape ``rag ingest --json`` prints."""

from dataclasses import dataclass, field


@dataclass
class IngestReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    pruned: int = 0
    skipped: int = 0
    duplicates: int = 0  # paths whose file was already read in this run (links)
    near_duplicate_sources: int = 0  # sources whose whole text nearly duplicates another source
    added: int = 0
    removed: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    source_duplicates: int = 0  # chunks contained in the original of their near-duplicate source
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    run_id: int | None = None
    index_build_id: int | None = None

    def fail(self, uri: str, error: str) -> None:
        self.failed += 1
        self.failures.append((uri, error))

    @property
    def chunks_per_second(self) -> float:
        return self.added / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "sources": {
                "new": self.new,
                "changed": self.changed,
                "unchanged": self.unchanged,
                "failed": self.failed,
                "pruned": self.pruned,
                "skipped": self.skipped,
                "duplicates": self.duplicates,
                "near_duplicates": self.near_duplicate_sources,
            },
            "chunks": {
                "added": self.added,
                "removed": self.removed,
                "exact_duplicates": self.exact_duplicates,
                "near_duplicates": self.near_duplicates,
                "source_duplicates": self.source_duplicates,
            },
            "failures": [{"source": uri, "error": error} for uri, error in self.failures],
            "seconds": round(self.seconds, 3),
            "chunks_per_second": round(self.chunks_per_second, 1),
        }
