"""``rag ingest`` killed with SIGKILL at five moments of one run, then run to the end: nothing
lost, nothing duplicated, FAISS equal to pgvector, every killed run marked interrupted. Real
subprocesses with the real embedder, against the session's Postgres. Slow."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.ingest.conftest import assert_stores_agree, write

pytestmark = pytest.mark.slow

FILES = 60
KILL_AFTER_SOURCES = (0, 8, 20, 35, 50)  # 0: while the model loads


def _corpus(folder: Path) -> None:
    rng = np.random.default_rng(7)
    vocabulary = [f"term{i}" for i in range(5000)]
    for n in range(FILES):
        sentences = [" ".join(rng.choice(vocabulary, 18)) + "." for _ in range(12)]
        write(folder / f"doc{n:02}.txt", " ".join(sentences))


def _sources(conn) -> int:
    return conn.execute("SELECT count(*) FROM sources").fetchone()[0]


def test_ingest_killed_at_five_moments_loses_and_duplicates_nothing(settings, conn, tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {
        "RAG_DATABASE_URL": settings.database_url,
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_CHUNK_TOKENS": "64",
        "RAG_EMBED_BATCH_SIZE": "8",
        "HF_HUB_OFFLINE": "1",
    }
    command = [str(Path(sys.executable).parent / "rag"), "ingest", str(corpus), "--collection", "docs", "--json"]

    for threshold in KILL_AFTER_SOURCES:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and _sources(conn) <= threshold and time.monotonic() < deadline:
            time.sleep(0.02)
        conn.rollback()
        assert process.poll() is None, "the run ended before it could be killed; raise FILES"
        process.send_signal(signal.SIGKILL)
        process.wait()

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert conn.execute("SELECT count(*), count(DISTINCT uri) FROM sources").fetchone() == (FILES, FILES)
    assert (
        conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        == conn.execute("SELECT count(DISTINCT (source_id, ordinal)) FROM chunks").fetchone()[0]
    )
    statuses = [r[0] for r in conn.execute("SELECT status FROM ingest_runs ORDER BY id")]
    assert statuses == ["interrupted"] * len(KILL_AFTER_SOURCES) + ["succeeded"]
    assert_stores_agree(settings, conn)
