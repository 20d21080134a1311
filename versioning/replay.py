"""Replay a logged generation: answer its request again with the exact versions recorded in its
row, and say what has changed since.

The recorded run uses the model with the recorded sha256 (its weights are re-hashed), the
passages the recorded index build returned (the same chunk ids, by rank, read back from
Postgres, so an index rebuilt since does not matter while the chunks exist) and the prompt
template of this release, which must be the recorded id and version. When all of them are
available, the recorded run should give the logged answer word for word.

The recorded run also answers under the answer policy recorded in the row (``models.policy``:
the gate, the refusal threshold, copy or free decoding, the budget, the dtype).

Then each part is compared with what is served now: the model (the registry's serving model), the
policy, the index build (the latest), the data (the dataset version of the recorded passages'
sources now, and whether they all still exist) and the template. When one differs, the request
is also answered as the service would answer it now, so both answers can be put side by side.

Both runs go through the serving pipeline (``answering.compose``), and their log rows are
rolled back (``answer_unlogged``), because a replay is not an exchange."""

from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from answering.compose import compose_answerer
from answering.export import log_record
from answering.log import passages_dataset_version
from answering.pipeline import AnswerRequest, AnswerResult, answer_unlogged
from core.settings import Settings
from index.builds import latest_ingest_stamp
from models.artifact import ModelArtifact, weights_sha256
from models.embedder import Embedder
from models.generator import Generator
from models.policy import AnswerPolicy, resolve_policy
from models.prompt import TEMPLATE
from models.registry import ModelRecord, get_model, serving_model
from retrieval.base import Searcher, SearchHit
from retrieval.filters import CHUNK_JOIN, Filter

PARTS = ("model", "policy", "index", "data", "template")


@dataclass(frozen=True)
class Part:
    """One versioned part of a generation: as recorded in the log row, and as it is now."""

    recorded: Any
    current: Any
    changed: bool


@dataclass(frozen=True)
class Run:
    answer: str
    citations: list[tuple[int, int]]  # (passage number, chunk id)
    chunk_ids: list[int]
    refused: bool
    model: dict[str, Any]

    @classmethod
    def of(cls, result: AnswerResult) -> "Run":
        return cls(
            answer=result.answer,
            citations=[(c["n"], c["chunk_id"]) for c in result.citations],
            chunk_ids=[p["chunk_id"] for p in result.passages],
            refused=result.refused,
            model={k: result.model[k] for k in ("id", "sha256")},
        )


@dataclass(frozen=True)
class ReplayReport:
    log_id: int
    query: str
    parts: dict[str, Part]
    unavailable: list[str]  # why the recorded run could not be made, one line per part
    logged: Run
    replayed: Run | None  # with the recorded versions (None when one is unavailable)
    current: Run | None  # as served now (None when nothing changed)
    changed: list[str] = field(init=False)
    identical: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changed", [name for name in PARTS if self.parts[name].changed])
        object.__setattr__(self, "identical", self.replayed is not None and same_answer(self.logged, self.replayed))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def same_answer(a: Run, b: Run) -> bool:
    return a.answer == b.answer and a.citations == b.citations


GeneratorFor = Callable[[ModelArtifact, str], Generator]  # an artifact and a dtype
OpenSearcher = Callable[[], Searcher]


class _RecordedPassages:
    """A ``Searcher`` that returns the logged passages (the first ``k``, by logged rank) whatever
    the query, mode or filters."""

    def __init__(self, hits: list[SearchHit], embedder: Callable[[], Embedder]):
        self.hits = hits
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        return self._embedder()

    def search(
        self, query: str, *, k: int = 10, mode: str = "hybrid", filters: list[Filter] | None = None
    ) -> list[SearchHit]:
        return self.hits[:k]

    def close(self) -> None:
        pass


def recorded_passages(conn: psycopg.Connection, passages: list[dict[str, Any]]) -> tuple[list[SearchHit], list[int]]:
    """The logged passages as search hits (by rank, with their logged scores) and the chunk ids
    that no longer exist."""
    ids = [p["chunk_id"] for p in passages]
    rows = conn.execute(
        "SELECT c.id, s.uri, col.name, c.text, c.char_start, c.char_end, s.metadata"
        f" FROM {CHUNK_JOIN} WHERE c.id = ANY(%s)",
        (ids,),
    ).fetchall()
    by_id = {row[0]: row for row in rows}
    hits = [
        SearchHit(
            p["chunk_id"],
            uri,
            collection,
            text,
            (start, end),
            metadata,
            p["score"],
            {"bm25": p["bm25_score"], "dense": p["dense_score"]},
        )
        for p in passages
        if p["chunk_id"] in by_id
        for _, uri, collection, text, start, end, metadata in [by_id[p["chunk_id"]]]
    ]
    return hits, [i for i in ids if i not in by_id]


def recorded_artifact(record: ModelRecord, base: Callable[[], ModelArtifact]) -> ModelArtifact | None:
    """The recorded model's weights when they are still on disk with the recorded sha256 (a base
    model is also found where this installation keeps it); None when they are gone."""

    def holds_weights(path: Path) -> bool:
        return path.is_dir() and weights_sha256(path) == record.sha256

    if holds_weights(record.artifact.path):
        return record.artifact
    if record.kind == "base" and holds_weights(base().path):
        return ModelArtifact(path=base().path, sha256=record.sha256)
    return None


def replay_log(
    settings: Settings,
    conn: psycopg.Connection,
    log_id: int,
    *,
    generator_for: GeneratorFor,
    open_searcher: OpenSearcher,
    embedder: Callable[[], Embedder],
    base: Callable[[], ModelArtifact],
) -> ReplayReport:
    """Replay generation log ``log_id``; see the module docstring. ``conn`` must not be in
    autocommit mode (the replays' log rows are rolled back on it)."""
    row = log_record(conn, log_id)
    recorded_model = get_model(conn, row["model_id"]) if row["model_id"] is not None else None
    served = serving_model(conn)
    recorded_policy = AnswerPolicy.from_dict(row["policy"]) if row["policy"] else resolve_policy({}, settings)
    served_policy = resolve_policy(served.policy, settings)
    hits, missing = recorded_passages(conn, row["passages"])
    artifact = recorded_artifact(recorded_model, base) if recorded_model else None
    parts = _parts(conn, row, served, recorded_policy, served_policy, hits, missing)
    unavailable = _unavailable(row, artifact, missing, parts["template"])
    request = _logged_request(settings, row)
    replayed = None
    if not unavailable:
        answerer = compose_answerer(
            settings,
            lambda: nullcontext(conn),
            model=recorded_model,
            searcher=_RecordedPassages(hits, embedder),
            generator=generator_for(artifact, recorded_policy.dtype),
            policy=recorded_policy,
        )
        replayed = Run.of(answer_unlogged(answerer, conn, request))
    current = None
    if any(part.changed for part in parts.values()):
        answerer = compose_answerer(
            settings,
            lambda: nullcontext(conn),
            model=served,
            searcher=open_searcher(),
            generator=generator_for(served.artifact, served_policy.dtype),
            policy=served_policy,
        )
        with closing(answerer):
            current = Run.of(answer_unlogged(answerer, conn, request))
    return ReplayReport(log_id, row["query"], parts, unavailable, _logged_run(row), replayed, current)


def _parts(
    conn: psycopg.Connection,
    row: dict[str, Any],
    served: ModelRecord,
    recorded_policy: AnswerPolicy,
    served_policy: AnswerPolicy,
    hits: list[SearchHit],
    missing: list[int],
) -> dict[str, Part]:
    """Each part as the log row recorded it and as it is served now."""
    template, served_template = f"{row['template_id']} v{row['template_version']}", f"{TEMPLATE.id} v{TEMPLATE.version}"
    index = latest_ingest_stamp(conn) or None
    return {
        "model": Part(
            _model(row["model_id"], row["model_sha256"]),
            _model(served.id, served.sha256),
            served.sha256 != row["model_sha256"],
        ),
        "policy": Part(recorded_policy.to_dict(), served_policy.to_dict(), recorded_policy != served_policy),
        "index": Part(row["index_build_id"], index, row["index_build_id"] != index),
        "data": _data_part(conn, row, hits, missing),
        "template": Part(template, served_template, template != served_template),
    }


def _logged_request(settings: Settings, row: dict[str, Any]) -> AnswerRequest:
    """The logged request again, with the standalone query it was answered for."""
    return AnswerRequest(
        row["rewritten_query"],
        k=row["request"].get("k") or len(row["passages"]) or settings.default_k,
        filters=[Filter(f["field"], tuple(f["values"]), f.get("key", "")) for f in row["request"].get("filters") or []],
        collections=row["request"].get("collections"),
        max_new_tokens=row["request"].get("max_new_tokens"),
    )


def _logged_run(row: dict[str, Any]) -> Run:
    return Run(
        answer=row["answer"],
        citations=[(c["n"], c["chunk_id"]) for c in row["citations"]],
        chunk_ids=[p["chunk_id"] for p in row["passages"]],
        refused=row["refused"],
        model=_model(row["model_id"], row["model_sha256"]),
    )


def _model(model_id: int | None, sha256: str | None) -> dict[str, Any]:
    return {"id": model_id, "sha256": sha256}


def _data_part(conn: psycopg.Connection, row: dict[str, Any], hits: list[SearchHit], missing: list[int]) -> Part:
    now = passages_dataset_version(conn, [h.chunk_id for h in hits]) if hits else None
    current = {"dataset_version_id": now, "missing_chunks": missing}
    return Part(
        {"dataset_version_id": row["dataset_version_id"]}, current, bool(missing) or now != row["dataset_version_id"]
    )


def _unavailable(row: dict[str, Any], artifact: ModelArtifact | None, missing: list[int], template: Part) -> list[str]:
    reasons = []
    if artifact is None:
        reasons.append(f"model: no weights with the recorded sha256 {str(row['model_sha256'])[:12]} are on disk")
    if missing:
        reasons.append(f"data: recorded passages {missing} no longer exist (their sources changed or were pruned)")
    if template.changed:
        reasons.append(f"template: this release has {template.current}, the row was made with {template.recorded}")
    return reasons
