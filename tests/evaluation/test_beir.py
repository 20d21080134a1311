import pytest

from core.errors import InputError
from evaluation.beir import read_beir


def test_reads_judged_queries_and_graded_qrels(tmp_path, write_beir):
    folder = write_beir(
        tmp_path / "tiny",
        [{"_id": "d1", "title": "t", "text": "x"}],
        {"1": "first", "2": "second", "3": "unjudged"},
        {"1": {"d1": 2, "d9": 1}, "2": {"d1": 0}},
    )
    dataset = read_beir(folder)
    assert dataset.queries == {"1": "first", "2": "second"}
    assert dataset.qrels == {"1": {"d1": 2, "d9": 1}, "2": {"d1": 0}}
    assert dataset.collection == "beir-tiny"
    assert dataset.corpus_path == folder / "corpus.jsonl"


def test_missing_split_and_bad_lines_are_named(tmp_path, write_beir):
    folder = write_beir(tmp_path / "b", [], {"1": "q"}, {"1": {"d": 1}})
    with pytest.raises(InputError, match="dev.tsv does not exist.*--split"):
        read_beir(folder, "dev")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td\n")
    with pytest.raises(InputError, match="test.tsv:2: expected 'query-id corpus-id score'"):
        read_beir(folder)
    (folder / "qrels" / "test.tsv").write_text("7\td\t1\n")
    with pytest.raises(InputError, match="missing from .*queries.jsonl: 7"):
        read_beir(folder)
