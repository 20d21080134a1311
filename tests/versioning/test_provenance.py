import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.errors import InputError
from versioning.provenance import count_records, dvc_md5, git_commit, params_hash, select_params

DVC = str(Path(sys.executable).with_name("dvc"))


def test_md5_is_what_dvc_records_for_a_file_and_a_folder(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("hello\n")
    (tmp_path / "d" / "sub" / "b.jsonl").write_bytes(b'{"x": 1}\r\n')
    (tmp_path / "f.txt").write_text("one\n")
    subprocess.run([DVC, "add", "-q", "d", "f.txt"], cwd=tmp_path, check=True)
    for name in ("d", "f.txt"):
        recorded = yaml.safe_load((tmp_path / f"{name}.dvc").read_text())["outs"][0]["md5"]
        assert dvc_md5(tmp_path / name) == recorded
    assert dvc_md5(tmp_path / "d").endswith(".dir")
    assert git_commit(tmp_path) is None  # no commit yet


def test_md5_of_a_missing_path_names_it(tmp_path):
    with pytest.raises(InputError, match="nothing"):
        dvc_md5(tmp_path / "nothing")


def test_params_are_selected_by_dotted_keys_and_hashed_canonically(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("finetune:\n  lr: 0.001\n  steps: 2\nevaluate:\n  k: 10\n")
    assert select_params(params, ["finetune.lr", "evaluate"]) == {"finetune.lr": 0.001, "evaluate": {"k": 10}}
    assert params_hash({"a": 1, "b": 2}) == params_hash({"b": 2, "a": 1}) != params_hash({"a": 2, "b": 2})
    assert params_hash({}) == ""
    with pytest.raises(InputError, match="finetune.seed"):
        select_params(params, ["finetune.seed"])


def test_records_are_jsonl_lines_or_files_and_synthetic_ones_are_counted_apart(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# a")
    rows = [{"id": 1}, {"id": 2, "synthetic": True}, {"id": 3, "synthetic": False}]
    (tmp_path / "docs" / "rows.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n\n")
    counts = count_records(tmp_path / "docs")
    assert (counts["files"], counts["records"], counts["synthetic_records"]) == (2, 4, 1)
    assert counts["by_file"]["rows.jsonl"] == {"records": 3, "synthetic_records": 1}
