"""A live `rag serve` for the slow end-to-end tests: the demo corpus ingested into a fresh data
dir, keys made with the CLI, the server on a free port of 127.0.0.1, the real models."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

DEMO = Path(__file__).parents[2] / "data" / "demo"
QUESTION = "How does hybrid search combine keyword and vector results?"
RAG = str(Path(sys.executable).with_name("rag"))


def rag(env: dict, *args: str) -> str:
    """Run the CLI and return its stdout; fail with its stderr."""
    done = subprocess.run([RAG, *args], env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"rag {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base_url: str, server: subprocess.Popen, log: Path, seconds: float = 900) -> None:
    """Until ``/health`` answers (a fresh data dir converts the generator's weights first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"rag serve exited early: {log.read_text()[-4000:]}"
        try:
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"rag serve did not answer /health in time: {log.read_text()[-4000:]}")


def demo_env(data_dir: Path, **settings: str) -> dict:
    """The environment of a server on its own embedded database in ``data_dir``, with
    ``settings`` (e.g. ``RAG_RATE_LIMIT_PER_MINUTE="6"``) added."""
    env = {k: v for k, v in os.environ.items() if k != "RAG_DATABASE_URL"}
    return {**env, "RAG_DATA_DIR": str(data_dir), **settings}


def create_keys(env: dict, roles: dict[str, str], prefix: str) -> dict[str, str]:
    """One key per ``{name: role}``, named ``prefix-name``: ``{name: secret}``."""
    return {
        name: rag(env, "keys", "create", "--role", role, "--name", f"{prefix}-{name}").strip().splitlines()[-1]
        for name, role in roles.items()
    }


@contextmanager
def serving(env: dict) -> Iterator[str]:
    """`rag serve` with ``env`` on a free port until the block ends: its base URL. Its output
    goes to ``serve-PORT.log`` beside the data dir, shown when it fails to start."""
    port = free_port()
    log = Path(env["RAG_DATA_DIR"]).parent / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen([RAG, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, server, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def demo_server(data_dir: Path, roles: dict[str, str], prefix: str, **settings: str) -> Iterator[tuple[str, dict]]:
    """The demo corpus ingested into ``data_dir``, a key per ``{name: role}``, and `rag serve`
    over it: (base URL, {name: secret})."""
    env = demo_env(data_dir, **settings)
    rag(env, "ingest", str(DEMO), "--collection", "demo")
    keys = create_keys(env, roles, prefix)
    with serving(env) as base_url:
        yield base_url, keys
