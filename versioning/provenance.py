"""What identifies a dataset version: DVC's content hash of a file or folder (computed by
``dvc_data``, exactly as ``dvc.lock`` records it), the git commit, the hash of the parameters
that made it, and its record counts with the synthetic records counted apart."""

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from core.errors import InputError

JSONL_SUFFIXES = (".jsonl",)


def dvc_md5(path: Path) -> str:
    """The md5 DVC records for ``path``: a file's md5, or ``<md5>.dir`` for a folder."""
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    if not path.exists():
        raise InputError(f"path not found: {path}; pass the file or folder the dataset lives in.")
    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as scratch:  # the .dir object is built here, then dropped
        _, _, obj = build(HashFileDB(fs, scratch), str(path.resolve()), fs, "md5", dry_run=True)
    return obj.hash_info.value


def git_commit(path: Path) -> str | None:
    """HEAD of the git repository holding ``path``; None outside one."""
    folder = path if path.is_dir() else path.parent
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=False)
    except FileNotFoundError:  # no git on this machine
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def select_params(params_file: Path, keys: list[str]) -> dict[str, Any]:
    """``{key: value}`` for dotted ``keys`` of a ``params.yaml`` (``finetune`` or ``finetune.lr``)."""
    import yaml

    if not keys:
        return {}
    if not params_file.is_file():
        raise InputError(f"{params_file} does not exist; run from the repository root or pass --params-file.")
    document = yaml.safe_load(params_file.read_text()) or {}
    selected = {}
    for key in keys:
        value: Any = document
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise InputError(
                    f"no parameter {key!r} in {params_file}; expected a key such as 'finetune' or 'finetune.lr'."
                )
            value = value[part]
        selected[key] = value
    return selected


def params_hash(params: dict[str, Any]) -> str:
    """sha256 of the parameters as canonical JSON; '' when there are none."""
    if not params:
        return ""
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def count_records(path: Path, *, synthetic: bool = False) -> dict[str, Any]:
    """``{"files", "records", "synthetic_records", "by_file"}``: a JSONL line is a record (synthetic
    when it says ``"synthetic": true``, or when ``synthetic`` says they all are); any other file
    is one record (a document)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    by_file = {}
    for file in files:
        records, synthetic_records = _file_counts(file)
        synthetic_records = records if synthetic else synthetic_records
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        by_file[name] = {"records": records, "synthetic_records": synthetic_records}
    return {
        "files": len(files),
        "records": sum(c["records"] for c in by_file.values()),
        "synthetic_records": sum(c["synthetic_records"] for c in by_file.values()),
        "by_file": by_file,
    }


def _file_counts(file: Path) -> tuple[int, int]:
    if not file.name.endswith(JSONL_SUFFIXES):
        return 1, 0
    records = synthetic = 0
    with file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.strip():
                continue
            records += 1
            try:
                synthetic += json.loads(line).get("synthetic") is True
            except (ValueError, AttributeError):
                continue  # not a JSON object: still a record, not a synthetic one
    return records, synthetic
