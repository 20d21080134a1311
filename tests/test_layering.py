"""The README's import rule, checked: a module imports only from its own folder and from the
layers below it. Peers in one layer never import each other. Each feature's ``cli.py`` is an
entry point, so it may also use the console helpers (``cli.console``)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top; the folders of one row are peers.
LAYERS = [
    {"core"},
    {"models", "index"},
    {"ingest", "retrieval"},
    {"answering"},
    {"evaluation"},
    {"training", "versioning"},
    {"service"},
    {"cli"},
]
RANK = {folder: rank for rank, row in enumerate(LAYERS) for folder in row}
ENTRY_HELPERS = "cli.console"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute import in ``path`` (top level or inside a function), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(path: Path) -> list[str]:
    """The imports of ``path`` that point up or sideways against ``LAYERS``."""
    folder = path.relative_to(ROOT).parts[0]
    bad = []
    for line, module in imported_modules(path):
        target = module.split(".")[0]
        if target not in RANK or target == folder or RANK[target] < RANK[folder]:
            continue
        if path.name == "cli.py" and (module == ENTRY_HELPERS or module.startswith(ENTRY_HELPERS + ".")):
            continue
        bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def source_files() -> list[Path]:
    return sorted(p for folder in RANK for p in (ROOT / folder).rglob("*.py"))


def test_every_layer_folder_is_in_the_rule():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(RANK)


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path):
    assert violations(path) == []


def test_the_check_catches_an_upward_and_a_sideways_import(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "retrieval").mkdir()
    module = tmp_path / "retrieval" / "probe.py"
    module.write_text(
        "from core.settings import Settings\nimport ingest.pipeline\n\ndef f():\n    from service import app\n"
    )
    assert violations(module) == [
        "retrieval/probe.py:2 imports ingest.pipeline",
        "retrieval/probe.py:5 imports service",
    ]
