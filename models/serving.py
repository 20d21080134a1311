"""Which model a generator is needed for: ``resolve_model`` turns ``serving`` (what the service
serves: the promoted model; in a registry where none is, the shipped adapter, registered and
promoted on first use, unless ``RAG_SHIPPED_MODEL=false``; else the base; with
``RAG_GENERATOR_URL`` set, the remote model's row: ``models.remote_generator``), ``base``,
``promoted`` or a model id into a registry record. Every entry point that answers resolves
its model here, once."""

import psycopg

from core.errors import InputError
from core.settings import Settings
from models.generator import ensure_base_model
from models.registry import ModelRecord, get_model, list_models, register_base, serving_model
from models.remote_generator import register_remote
from models.shipped import ensure_shipped_model


def resolve_model(conn: psycopg.Connection, settings: Settings, which: str = "serving") -> ModelRecord:
    """The registry record for ``serving``, ``base``, ``promoted`` or a model id."""
    if which == "base":
        return register_base(conn, ensure_base_model(settings))
    if which == "serving" and settings.generator_url:
        return register_remote(conn, settings)
    if which == "serving":
        if settings.shipped_model and not any(m.status == "promoted" for m in list_models(conn)):
            ensure_shipped_model(conn, register_base(conn, ensure_base_model(settings)))
        return serving_model(conn, base=lambda: ensure_base_model(settings))
    if which == "promoted":
        promoted = [m for m in list_models(conn) if m.status == "promoted"]
        if not promoted:
            raise InputError("no model is promoted; pass --model base or an id, or run `rag models promote ID`.")
        return promoted[0]
    if not which.isdigit():
        raise InputError(
            f"unknown --model {which!r}; expected serving, base, promoted or a model id from `rag models list`."
        )
    return get_model(conn, int(which))
