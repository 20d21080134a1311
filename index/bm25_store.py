"""The persisted BM25 index under ``RAG_DATA_DIR/bm25``, kept in step with ingest by a cheap
rebuild: each build is stamped with the latest FAISS ``index_builds`` id (ingest writes one per
run), and a reader whose stamp differs rebuilds from the searchable chunks in Postgres and
records the build as an ``index_builds`` row of kind 'bm25'. An advisory lock makes concurrent
processes build once; ``CURRENT`` names the live build folder and is replaced atomically."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from core.settings import Settings
from index.bm25 import Bm25Index

_LOCK_KEY = 7_201_106  # the BM25 rebuild lock, distinct from the migrator's


def load_bm25(settings: Settings, pool: ConnectionPool, stamp: int) -> Bm25Index:
    """The BM25 index for ``stamp``: read from disk, or rebuilt when it was built for another."""
    root = settings.data_dir / "bm25"
    found = _current(root, stamp)
    if found is not None:
        return Bm25Index.load(found)
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        found = _current(root, stamp)  # another process may have built it while we waited
        if found is not None:
            return Bm25Index.load(found)
        return _rebuild(settings, conn, root, stamp)


def _current(root: Path, stamp: int) -> Path | None:
    try:
        folder = root / (root / "CURRENT").read_text().strip()
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return folder if manifest.get("stamp") == stamp else None


def _rebuild(settings: Settings, conn: psycopg.Connection, root: Path, stamp: int) -> Bm25Index:
    rows = conn.execute("SELECT id, text, content_hash FROM chunks WHERE embedding IS NOT NULL ORDER BY id").fetchall()
    index = Bm25Index.build([r[0] for r in rows], [r[1] for r in rows], k1=settings.bm25_k1, b=settings.bm25_b)
    digest = hashlib.sha256(f"k1={settings.bm25_k1} b={settings.bm25_b}\n".encode())
    for chunk_id, _, content_hash in rows:
        digest.update(f"{chunk_id}:{content_hash}\n".encode())
    checksum = digest.hexdigest()
    name = f"build-{stamp}-{checksum[:12]}"
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    index.save(folder)
    (folder / "manifest.json").write_text(json.dumps({"stamp": stamp, "chunks": len(rows), "checksum": checksum}))
    conn.execute(
        "INSERT INTO index_builds (kind, index_id, vector_count, checksum, path, ingest_run_id)"
        " SELECT 'bm25', %s, %s, %s, %s, (SELECT ingest_run_id FROM index_builds WHERE id = %s)",
        (name, len(rows), checksum, str(folder), stamp),
    )
    pointer = root / "CURRENT.tmp"
    pointer.write_text(name)
    os.replace(pointer, root / "CURRENT")
    for old in root.glob("build-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return index
