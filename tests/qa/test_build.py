import json

from typer.testing import CliRunner

from models.artifact import file_sha256
from qa.build import build_qa
from qa.records import RecordOptions
from qa.squad import read_squad
from rag.cli import app


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_build_writes_split_records_and_manifest(squad_jsonl, tmp_path):
    out = tmp_path / "qa"
    manifest = build_qa(squad_jsonl, out, dev_fraction=0.25, options=RecordOptions(unanswerable=0.3))
    train, dev = _read(out / "train.jsonl"), _read(out / "dev.jsonl")
    assert manifest["input"]["sha256"] == file_sha256(squad_jsonl)
    assert manifest["counts"]["train"]["records"] == len(train) and manifest["counts"]["dev"]["records"] == len(dev)
    assert manifest["files"]["train.jsonl"] == file_sha256(out / "train.jsonl")
    assert manifest["parameters"]["unanswerable"] == 0.3 and manifest["parameters"]["dev_fraction"] == 0.25
    assert set(manifest["articles"]["train"]).isdisjoint(manifest["articles"]["dev"])
    assert {q.title for q in read_squad(out / "dev_squad.jsonl")} == set(manifest["articles"]["dev"])
    first = (out / "train.jsonl").read_bytes()
    build_qa(squad_jsonl, out, dev_fraction=0.25, options=RecordOptions(unanswerable=0.3))
    assert (out / "train.jsonl").read_bytes() == first


def test_hard_negatives_stay_on_their_side_of_the_split(squad_jsonl, tmp_path):
    def neighbours(questions):
        paragraphs = {q.context: f"squad:{q.title}/0" for q in questions}
        return lambda q: [(text, source) for text, source in paragraphs.items() if text != q.context]

    manifest = build_qa(
        squad_jsonl, tmp_path, dev_fraction=0.25, options=RecordOptions(hard_negatives=2, unanswerable=0.0),
        neighbours=neighbours,
    )
    dev_prefixes = tuple(f"squad:{t}/" for t in manifest["articles"]["dev"])
    for record in _read(tmp_path / "train.jsonl"):
        assert not any(p["source"].startswith(dev_prefixes) for p in record["passages"])


def test_cli_prints_the_manifest(squad_jsonl, tmp_path):
    result = CliRunner().invoke(app, ["data", "build-qa", "--squad", str(squad_jsonl), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["train"]["records"] > 0
