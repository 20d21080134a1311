import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from core.errors import InputError
from evaluation.squad import read_squad
from models.artifact import file_sha256
from tests.stand_ins import HashingEmbedder
from tests.training.feedback_fixtures import three_exchanges, write_exchanges
from training.build_qa import build_qa
from training.records import RecordOptions


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
    assert manifest["feedback"] is None and manifest["counts"]["train"]["synthetic"] == 0
    assert all(r["origin"] == "squad" and r["synthetic"] is False for r in train + dev)
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
        squad_jsonl,
        tmp_path,
        dev_fraction=0.25,
        options=RecordOptions(hard_negatives=2, unanswerable=0.0),
        neighbours=neighbours,
    )
    dev_prefixes = tuple(f"squad:{t}/" for t in manifest["articles"]["dev"])
    for record in _read(tmp_path / "train.jsonl"):
        assert not any(p["source"].startswith(dev_prefixes) for p in record["passages"])


def test_cli_prints_the_manifest(squad_jsonl, tmp_path, settings, monkeypatch):
    import models.embedder

    monkeypatch.setattr(models.embedder, "load_embedder", lambda settings: HashingEmbedder())  # the search, the reader
    env = {"RAG_DATA_DIR": str(settings.data_dir), "RAG_DATABASE_URL": settings.database_url}
    feedback = write_exchanges(tmp_path / "feedback.jsonl", three_exchanges())
    args = [
        "data",
        "build-qa",
        "--squad",
        str(squad_jsonl),
        "--out",
        str(tmp_path / "qa"),
        "--feedback",
        str(feedback),
        "--json",
    ]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["counts"]["train"]["records"] > 0 and manifest["feedback"]["records"] == 2
    assert manifest["parameters"]["layout"] == "served" and manifest["parameters"]["k"] == 5
    train = _read(tmp_path / "qa" / "train.jsonl")
    assert all(1 <= len(r["passages"]) <= 5 for r in train if r["origin"] == "squad")  # the searched top k
    assert (settings.data_dir / "qa_corpus").is_dir()  # the paragraphs were ingested for the search
    excluded = CliRunner().invoke(app, [*args, "--synthetic", "exclude"], env=env)
    assert excluded.exit_code == 0 and json.loads(excluded.stdout)["feedback"]["records"] == 0
    bad = CliRunner().invoke(app, [*args, "--synthetic", "no"], env=env)
    assert bad.exit_code != 0 and "unknown --synthetic 'no'" in str(bad.exception)


def test_feedback_adds_synthetic_records_to_train_only(squad_jsonl, tmp_path):
    feedback = write_exchanges(tmp_path / "feedback.jsonl", three_exchanges())
    without = build_qa(squad_jsonl, tmp_path / "squad", dev_fraction=0.25, options=RecordOptions())
    manifest = build_qa(squad_jsonl, tmp_path / "qa", dev_fraction=0.25, options=RecordOptions(), feedback=feedback)
    train, dev = _read(tmp_path / "qa" / "train.jsonl"), _read(tmp_path / "qa" / "dev.jsonl")
    added = [r for r in train if r["origin"] == "feedback"]
    assert [(r["id"], r["answerable"], r["synthetic"]) for r in added] == [
        ("feedback:7", True, True),
        ("feedback:8", False, True),
    ]
    assert train[: len(train) - 2] == _read(tmp_path / "squad" / "train.jsonl")
    assert dev == _read(tmp_path / "squad" / "dev.jsonl") and not any(r["synthetic"] for r in dev)
    assert manifest["feedback"] == {
        "path": str(feedback),
        "sha256": file_sha256(feedback),
        "exchanges": 3,
        "skipped": 1,
        "records": 2,
        "synthetic_records": 2,
    }
    assert manifest["counts"]["train"] == {
        **without["counts"]["train"],
        "records": without["counts"]["train"]["records"] + 2,
        "synthetic": 2,
        "answerable": without["counts"]["train"]["answerable"] + 1,
        "refusal": without["counts"]["train"]["refusal"] + 1,
    }


def test_synthetic_exclude_drops_the_feedback_records(squad_jsonl, tmp_path):
    feedback = write_exchanges(tmp_path / "feedback.jsonl", three_exchanges())
    build_qa(squad_jsonl, tmp_path / "squad", dev_fraction=0.25, options=RecordOptions())
    manifest = build_qa(
        squad_jsonl, tmp_path / "qa", dev_fraction=0.25, options=RecordOptions(), feedback=feedback, synthetic="exclude"
    )
    assert (tmp_path / "qa" / "train.jsonl").read_bytes() == (tmp_path / "squad" / "train.jsonl").read_bytes()
    assert manifest["parameters"]["synthetic"] == "exclude"
    assert manifest["feedback"]["exchanges"] == 3 and manifest["feedback"]["records"] == 0
    assert manifest["feedback"]["synthetic_records"] == 0 and manifest["counts"]["train"]["synthetic"] == 0


def test_an_empty_feedback_file_adds_nothing(squad_jsonl, tmp_path):
    feedback = write_exchanges(tmp_path / "feedback.jsonl", [])
    manifest = build_qa(squad_jsonl, tmp_path / "qa", dev_fraction=0.25, options=RecordOptions(), feedback=feedback)
    assert manifest["feedback"]["exchanges"] == 0 and manifest["feedback"]["records"] == 0


def test_a_bad_synthetic_choice_fails_before_any_work(squad_jsonl, tmp_path):
    with pytest.raises(InputError, match="unknown --synthetic 'drop'; expected one of: include, exclude"):
        build_qa(squad_jsonl, tmp_path / "qa", dev_fraction=0.25, options=RecordOptions(), synthetic="drop")
    assert not (tmp_path / "qa").exists()
