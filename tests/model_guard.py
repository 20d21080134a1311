"""The model guard, a pytest plugin: a test not marked ``slow`` loads no real model (see
``model_guard`` for what is wrapped and what is allowed)."""

import functools
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path

import pytest

TINY_WEIGHTS = 1 << 20  # bytes: a model a test built from a config and saved (the real ones: 9 MB and up)
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5", ".msgpack"}


class _ModelGuard:
    """What the guard knows: the test running now (set before its fixtures) and the loads it
    refused during it (reported at teardown even where the code under test caught the error)."""

    item: pytest.Item | None = None
    refused: list[str] = []


def _tiny(source) -> bool:
    """Nothing read from disk (``None``: built from modules, or weights passed in memory), or a
    local folder whose weight files total at most ``TINY_WEIGHTS``; a hub id is never tiny."""
    if source is None:
        return True
    folder = Path(source)
    if not folder.is_dir():
        return False
    return sum(p.stat().st_size for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file()) <= (
        TINY_WEIGHTS
    )


def _refuse_in_fast_test(what: str, source=None, *, real: bool = False) -> None:
    """Fail the running test unless it is marked slow or (not ``real``) ``source`` is tiny."""
    item = _ModelGuard.item
    if (item is not None and item.get_closest_marker("slow")) or (not real and _tiny(source)):
        return
    where = item.nodeid if item is not None else "code outside any test (at collection?)"
    message = (
        f"{where} loads a real model ({what}{f' from {source}' if source else ''}) but is not marked slow: "
        "mark it @pytest.mark.slow or pass a stand-in (tests/stand_ins.py)."
    )
    _ModelGuard.refused.append(message)
    pytest.fail(message)


def _guard_from_pretrained(owner: type, source_index: int, source_name: str) -> None:
    """Wrap the classmethod ``owner.from_pretrained``, whose model folder is its argument
    ``source_name``, positional ``source_index`` after ``cls``."""
    original = owner.__dict__["from_pretrained"].__func__

    def from_pretrained(cls, *args, **kwargs):
        source = args[source_index] if len(args) > source_index else kwargs.get(source_name)
        _refuse_in_fast_test(f"{cls.__name__}.from_pretrained", source)
        return original(cls, *args, **kwargs)

    owner.from_pretrained = classmethod(functools.wraps(original)(from_pretrained))


def _guard_transformers(module) -> None:
    _guard_from_pretrained(module.PreTrainedModel, 0, "pretrained_model_name_or_path")


def _guard_peft(module) -> None:
    _guard_from_pretrained(module.PeftModel, 1, "model_id")


def _guard_sentence_transformers(module) -> None:
    original = module.BaseModel.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        _refuse_in_fast_test(type(self).__name__, args[0] if args else kwargs.get("model_name_or_path"))
        original(self, *args, **kwargs)

    module.BaseModel.__init__ = __init__


def _guard_gguf_conversion(module) -> None:
    original = module._convert_gguf

    @functools.wraps(original)
    def _convert_gguf(gguf, folder):
        _refuse_in_fast_test("the GGUF conversion of the base model", gguf, real=True)
        return original(gguf, folder)

    module._convert_gguf = _convert_gguf


GUARDED = {  # module -> what wraps its model loading, applied when the module is first imported
    "transformers.modeling_utils": _guard_transformers,
    "peft.peft_model": _guard_peft,
    "sentence_transformers.base.model": _guard_sentence_transformers,
    "models.generator": _guard_gguf_conversion,
}


class _GuardOnImport(importlib.abc.MetaPathFinder):
    """Applies ``GUARDED`` right after each of its modules executes, so the guard costs no
    import (torch, transformers) to a test run that never needs them."""

    def find_spec(self, name, path, target=None):
        if name not in GUARDED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            GUARDED[name](module)

        spec.loader.exec_module = exec_module
        return spec


def pytest_configure(config):
    """Install the model guard (see ``model_guard``) before any test module is imported."""
    for name, guard in GUARDED.items():
        if name in sys.modules:
            guard(sys.modules[name])
    sys.meta_path.insert(0, _GuardOnImport())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _ModelGuard.item, _ModelGuard.refused = item, []
    try:
        return (yield)
    finally:
        _ModelGuard.item = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A refusal that reached pytest is reported there; ``model_guard`` reports the others."""
    report = yield
    message = getattr(call.excinfo.value, "msg", None) if call.excinfo else None
    if message in _ModelGuard.refused:
        _ModelGuard.refused.remove(message)
    return report


@pytest.fixture(autouse=True)
def model_guard():
    """A test not marked ``slow`` loads no real model. Loading weights fails at once, naming the
    test and the fix ("mark it slow or pass a stand-in"), wherever the call comes from: the
    guard wraps the libraries themselves (``transformers.PreTrainedModel.from_pretrained``,
    ``peft.PeftModel.from_pretrained``, sentence-transformers' ``BaseModel.__init__``, the GGUF
    conversion in ``models.generator``), so no ``from x import y`` binding escapes it, and it
    knows the running test from before its fixtures are set up, so a session fixture that loads
    a model for a fast test is refused too. A refused load the code under test caught (a thread,
    a server's 500) still fails the test here, at teardown.

    Allowed: tokenizers (``AutoTokenizer``, the GGUF tokenizer: no weights); models built from a
    config (``tests/training/finetune_fixtures.tiny_model``); and loading a local folder whose
    weight files total at most ``TINY_WEIGHTS`` (1 MiB): a tiny model a test built and saved
    itself, read back in milliseconds. MiniLM (90 MB), the SmolLM2 base (GGUF and converted) and
    the shipped adapter (9 MB, on that base) are all far above it."""
    yield
    if _ModelGuard.refused:
        pytest.fail("\n".join(_ModelGuard.refused), pytrace=False)
