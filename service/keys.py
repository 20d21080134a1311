"""API keys: random secrets shown once, stored only as their SHA-256 hash.

A key is 32 random bytes, so a plain (unsalted) SHA-256 is enough to make the stored hash
useless to a reader of the database, and it lets a lookup be one indexed equality."""

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import psycopg

from core.errors import InputError

KEY_PREFIX = "rag_"


class Role(StrEnum):
    reader = "reader"
    user = "user"
    admin = "admin"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str | None
    role: Role
    collections: list[str] | None  # None: every collection


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    conn: psycopg.Connection, role: Role, *, name: str | None = None, collections: list[str] | None = None
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its secret, which is not stored and cannot be shown again."""
    secret = new_secret()
    with conn.transaction():
        if collections:
            known = {r[0] for r in conn.execute("SELECT name FROM collections WHERE name = ANY(%s)", (collections,))}
            unknown = sorted(set(collections) - known)
            if unknown:
                raise InputError(f"unknown collection(s) {', '.join(unknown)}; ingest them first or drop --collection.")
        key_id = conn.execute(
            "INSERT INTO api_keys (name, role, key_hash, collections) VALUES (%s, %s, %s, %s) RETURNING id",
            (name, role.value, hash_key(secret), collections or None),
        ).fetchone()[0]
    return ApiKey(key_id, name, role, collections or None), secret


def find_key(conn: psycopg.Connection, secret: str) -> ApiKey | None:
    """The live (not revoked) key with this secret, or None."""
    row = conn.execute(
        "SELECT id, name, role, collections FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL",
        (hash_key(secret),),
    ).fetchone()
    return ApiKey(row[0], row[1], Role(row[2]), row[3]) if row else None


def revoke_key(conn: psycopg.Connection, key_id: int) -> None:
    with conn.transaction():
        revoked = conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (key_id,)
        ).rowcount
    if not revoked:
        raise InputError(f"no live API key with id {key_id}; list keys with `rag keys list`.")


def key_rows(conn: psycopg.Connection) -> list[dict]:
    """Every key without its hash, oldest first."""
    cur = conn.execute("SELECT id, name, role, collections, created_at, revoked_at FROM api_keys ORDER BY id")
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur]
