"""The model registry: every generator the service could serve (the base, fine-tuned full
models, LoRA adapters on the base), its files' sha256, its parent, metrics and the config
that made it. One model at most is ``promoted``; the service serves it, else the base.

Status changes are recorded in ``model_events`` with an optional note (a forced promotion
says so there). The promotion gate (compare metrics) is built on top of ``set_status``."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from core.errors import InputError, NotFoundError
from models.artifact import ModelArtifact

KINDS = ("base", "adapter", "full", "remote")
STATUSES = ("candidate", "promoted", "retired")


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    kind: str
    path: str
    sha256: str
    parent_id: int | None
    status: str
    metrics: dict[str, Any]
    config: dict[str, Any]
    dataset_version_id: int | None
    created_at: datetime
    policy: dict[str, Any]  # the stored answer policy (models.policy); empty for the base

    @property
    def artifact(self) -> ModelArtifact:
        return ModelArtifact(path=Path(self.path), sha256=self.sha256)

    def summary(self) -> dict[str, Any]:
        """What a response or log names the model by."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "sha256": self.sha256}


_COLUMNS = "id, name, kind, path, sha256, parent_id, status, metrics, config, dataset_version_id, created_at, policy"


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(f"unknown model {what} {value!r}; expected one of: {', '.join(allowed)}.")


def register_model(
    conn: psycopg.Connection,
    *,
    name: str,
    kind: str,
    path: Path | str,
    sha256: str,
    parent_id: int | None = None,
    status: str = "candidate",
    metrics: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    note: str = "registered",
) -> int:
    """Insert a model and return its id (promoting one retires the model promoted before)."""
    _check(kind, KINDS, "kind")
    _check(status, STATUSES, "status")
    with conn.transaction():
        model_id = conn.execute(
            "INSERT INTO models (name, kind, path, sha256, parent_id, status, metrics, config, policy)"
            " VALUES (%s, %s, %s, %s, %s, 'candidate', %s, %s, %s) RETURNING id",
            (name, kind, str(path), sha256, parent_id, Jsonb(metrics or {}), Jsonb(config or {}), Jsonb(policy or {})),
        ).fetchone()[0]
        if status != "candidate":
            set_status(conn, model_id, status, note=note)
    return model_id


def _select(conn: psycopg.Connection, where: str, params: tuple = ()) -> list[ModelRecord]:
    with conn.cursor(row_factory=class_row(ModelRecord)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM models {where}", params).fetchall()


def get_model(conn: psycopg.Connection, model_id: int) -> ModelRecord:
    found = _select(conn, "WHERE id = %s", (model_id,))
    if not found:
        raise NotFoundError(f"no model with id {model_id}; `rag models list` shows the registered ones.")
    return found[0]


def list_models(conn: psycopg.Connection) -> list[ModelRecord]:
    return _select(conn, "ORDER BY id")


def register_base(conn: psycopg.Connection, artifact: ModelArtifact, *, name: str = "base") -> ModelRecord:
    """The base model's record, registered the first time these weights are seen."""
    found = _select(conn, "WHERE kind = 'base' AND sha256 = %s ORDER BY id LIMIT 1", (artifact.sha256,))
    if found:
        return found[0]
    return get_model(conn, register_model(conn, name=name, kind="base", path=artifact.path, sha256=artifact.sha256))


def serving_model(conn: psycopg.Connection, *, base: Callable[[], ModelArtifact] | None = None) -> ModelRecord:
    """The promoted model, else the newest registered base, else ``base()`` registered (when
    given)."""
    promoted = _select(conn, "WHERE status = 'promoted'")
    if promoted:
        return promoted[0]
    latest = _select(conn, "WHERE kind = 'base' ORDER BY id DESC LIMIT 1")
    if latest:
        return latest[0]
    if base is None:
        raise NotFoundError("no model is registered yet; ask a question once (`rag ask ...`) to register one.")
    return register_base(conn, base())


def record_evaluation(conn: psycopg.Connection, model_id: int, context: str, figures: dict[str, Any]) -> None:
    """Keep ``rag eval qa``'s figures for ``context`` in the model's ``metrics["eval"]`` (the
    promotion gate compares them)."""
    with conn.transaction():
        conn.execute(
            "UPDATE models SET metrics = jsonb_set(metrics, '{eval}', coalesce(metrics->'eval', '{}') || %s)"
            " WHERE id = %s",
            (Jsonb({context: figures}), model_id),
        )


def set_status(conn: psycopg.Connection, model_id: int, status: str, *, note: str | None = None) -> None:
    """Change a model's status and record it; promoting retires the model promoted before."""
    _check(status, STATUSES, "status")
    with conn.transaction():
        current = get_model(conn, model_id)
        if status == "promoted":
            for previous in conn.execute(
                "UPDATE models SET status = 'retired' WHERE status = 'promoted' AND id <> %s RETURNING id", (model_id,)
            ).fetchall():
                _record_event(conn, previous[0], "promoted", "retired", f"replaced by model {model_id}")
        conn.execute("UPDATE models SET status = %s WHERE id = %s", (status, model_id))
        _record_event(conn, model_id, current.status, status, note)


def _record_event(conn: psycopg.Connection, model_id: int, from_status: str, to_status: str, note: str | None) -> None:
    conn.execute(
        "INSERT INTO model_events (model_id, from_status, to_status, note) VALUES (%s, %s, %s, %s)",
        (model_id, from_status, to_status, note),
    )
