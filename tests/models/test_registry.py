from pathlib import Path

import pytest

from core.errors import InputError, NotFoundError
from models.artifact import ModelArtifact
from models.registry import get_model, list_models, register_base, register_model, serving_model, set_status


def _register(conn, name, kind="full", **extra):
    return register_model(conn, name=name, kind=kind, path=f"/m/{name}", sha256=f"sha-{name}", **extra)


def test_register_and_read_back(conn):
    base = _register(conn, "base", kind="base")
    tuned = _register(conn, "tuned", parent_id=base, metrics={"f1": 31.5}, config={"lr": 1e-4})
    record = get_model(conn, tuned)
    assert (record.name, record.kind, record.status, record.parent_id) == ("tuned", "full", "candidate", base)
    assert record.metrics == {"f1": 31.5} and record.config == {"lr": 1e-4}
    assert record.artifact == ModelArtifact(path=Path("/m/tuned"), sha256="sha-tuned")
    assert [m.id for m in list_models(conn)] == [base, tuned]


def test_unknown_kind_or_status_is_refused(conn):
    with pytest.raises(InputError, match="'lora'"):
        _register(conn, "x", kind="lora")
    with pytest.raises(InputError, match="'live'"):
        set_status(conn, _register(conn, "y"), "live")
    with pytest.raises(NotFoundError):
        get_model(conn, 999)


def test_serving_model_is_the_promoted_else_the_base_registered_on_first_use(conn):
    with pytest.raises(NotFoundError):
        serving_model(conn)
    base = ModelArtifact(path=Path("/m/base"), sha256="abc")
    first = serving_model(conn, base=lambda: base)
    assert first.kind == "base" and first.sha256 == "abc"
    assert serving_model(conn, base=lambda: base).id == first.id == register_base(conn, base).id
    tuned = _register(conn, "tuned", parent_id=first.id)
    set_status(conn, tuned, "promoted", note="beats base")
    assert serving_model(conn, base=lambda: base).id == tuned


def test_promoting_retires_the_previous_and_records_events(conn):
    a, b = _register(conn, "a"), _register(conn, "b")
    set_status(conn, a, "promoted")
    set_status(conn, b, "promoted", note="forced")
    assert [get_model(conn, a).status, get_model(conn, b).status] == ["retired", "promoted"]
    events = conn.execute("SELECT model_id, from_status, to_status, note FROM model_events ORDER BY id").fetchall()
    assert events[-2:] == [(a, "promoted", "retired", f"replaced by model {b}"), (b, "candidate", "promoted", "forced")]
