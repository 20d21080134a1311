"""Reading a BEIR folder: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id corpus-id score`` with a header).
Only queries that have judgements in the split are evaluated, as BEIR does."""

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError

LAYOUT = "corpus.jsonl, queries.jsonl and qrels/<split>.tsv"


@dataclass(frozen=True)
class BeirDataset:
    folder: Path
    corpus_path: Path
    queries: dict[str, str]  # query id -> text, judged queries only
    qrels: dict[str, dict[str, int]]  # query id -> {document id: graded relevance}

    @property
    def collection(self) -> str:
        """The collection the corpus is ingested into."""
        return f"beir-{self.folder.resolve().name}"


def read_beir(folder: Path, split: str = "test") -> BeirDataset:
    corpus_path, queries_path, qrels_path = (
        folder / "corpus.jsonl",
        folder / "queries.jsonl",
        folder / "qrels" / f"{split}.tsv",
    )
    for path in (corpus_path, queries_path, qrels_path):
        if not path.is_file():
            raise InputError(f"{path} does not exist; a BEIR folder holds {LAYOUT}. Check --beir and --split.")
    qrels = read_qrels(qrels_path)
    texts = read_queries(queries_path)
    missing = sorted(set(qrels) - set(texts))
    if missing:
        raise InputError(f"{qrels_path} judges queries missing from {queries_path}: {', '.join(missing[:5])}")
    return BeirDataset(folder, corpus_path, {qid: texts[qid] for qid in qrels}, qrels)


def read_queries(path: Path) -> dict[str, str]:
    queries = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries[str(row["_id"])] = str(row["text"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{number}: expected a JSON object with _id and text ({exc})") from exc
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or (number == 1 and not _is_int(fields[-1])):
                continue  # blank line or the header
            if len(fields) != 3 or not _is_int(fields[2]):
                raise InputError(f"{path}:{number}: expected 'query-id corpus-id score'; got {line.strip()!r}")
            qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    if not qrels:
        raise InputError(f"{path} holds no judgements")
    return qrels


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
