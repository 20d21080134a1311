import pytest

from core.errors import InputError
from service.keys import KEY_PREFIX, Role, create_key, find_key, hash_key, key_rows, revoke_key


def test_created_key_is_found_by_its_secret_and_only_its_hash_is_stored(conn):
    key, secret = create_key(conn, Role.user, name="alice")
    assert secret.startswith(KEY_PREFIX) and len(secret) > 40
    assert find_key(conn, secret) == key
    stored = conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (key.id,)).fetchone()[0]
    assert stored == hash_key(secret) and secret not in stored


def test_unknown_and_revoked_keys_are_not_found(conn):
    key, secret = create_key(conn, Role.reader)
    assert find_key(conn, secret + "x") is None
    revoke_key(conn, key.id)
    assert find_key(conn, secret) is None
    with pytest.raises(InputError, match="no live API key"):
        revoke_key(conn, key.id)


def test_collections_must_exist(conn):
    conn.execute("INSERT INTO collections (name) VALUES ('demo')")
    key, _ = create_key(conn, Role.user, collections=["demo"])
    assert key.collections == ["demo"]
    with pytest.raises(InputError, match="nope"):
        create_key(conn, Role.user, collections=["demo", "nope"])


def test_key_rows_never_show_the_hash(conn):
    create_key(conn, Role.admin, name="ops")
    (row,) = key_rows(conn)
    assert row["role"] == "admin" and row["name"] == "ops" and "key_hash" not in row
