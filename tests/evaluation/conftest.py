import json

import pytest


@pytest.fixture
def write_beir():
    """Writes a BEIR folder from plain Python data; returns the folder."""

    def write(folder, corpus, queries, qrels, split="test"):
        (folder / "qrels").mkdir(parents=True)
        (folder / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in corpus))
        (folder / "queries.jsonl").write_text(
            "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items())
        )
        lines = ["query-id\tcorpus-id\tscore"] + [
            f"{q}\t{d}\t{s}" for q, docs in qrels.items() for d, s in docs.items()
        ]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
        return folder

    return write
