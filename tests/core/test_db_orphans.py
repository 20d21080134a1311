"""The embedded server is never left behind: real subprocesses killed with SIGKILL, and
``rag serve`` stopped with SIGTERM, against a server of their own (not the session's)."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

ATTACH = (
    "import sys, time; from core.db import connect; from core.settings import Settings;"
    "connect(Settings(data_dir=sys.argv[1], database_url=None)).close(); print('ready', flush=True);"
    "time.sleep(float(sys.argv[2]))"
)


def _env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, "RAG_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}


def _attach(data_dir, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", ATTACH, str(data_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(data_dir),
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def _postmaster(data_dir) -> psutil.Process | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return psutil.Process(pid) if psutil.pid_exists(pid) else None


def _gone(data_dir, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _postmaster(data_dir) is None:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_the_next_command_adopts_a_server_left_by_a_killed_one_and_stops_it(tmp_path):
    killed = _attach(tmp_path, 60)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert _postmaster(tmp_path) is not None  # the killed command could not stop it
    survivor = _attach(tmp_path, 0)
    assert survivor.wait(timeout=60) == 0
    assert _gone(tmp_path)


@pytest.mark.slow
def test_serve_stopped_with_sigterm_stops_the_server(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", "18573"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    deadline = time.monotonic() + 120
    while _postmaster(tmp_path) is None:
        assert process.poll() is None and time.monotonic() < deadline, (
            process.stderr.read() if process.poll() else "timeout"
        )
        time.sleep(0.5)
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    # The signal lands during start-up: uvicorn exits once the lifespan's start-up has finished,
    # which in a fresh data dir converts the generator's weights (about a minute on 2 idle cores).
    process.wait(timeout=300)
    assert _gone(tmp_path)
