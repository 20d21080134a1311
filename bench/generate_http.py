"""``/generate`` latency over HTTP (``python -m bench.generate --http``): p50/p99 with
concurrent clients against ``rag serve`` on 127.0.0.1 over the configured data dir, beside one
client alone. httpx (a dev extra) is imported only when measuring."""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HTTP_QUESTIONS = [
    "How does hybrid search combine keyword and vector results?",
    "What does reciprocal rank fusion do?",
    "Where are the embeddings stored?",
    "What happens when the passages do not contain the answer?",
]


def _rag_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


def _start_rag_serve(port: int):
    """``rag serve`` on 127.0.0.1:``port`` (rate limit lifted), once ``/health`` answers."""
    import httpx

    env = {**os.environ, "RAG_RATE_LIMIT_PER_MINUTE": "100000"}
    server = subprocess.Popen(
        _rag_command("serve", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"rag serve exited with {server.returncode}:\n{server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("rag serve did not answer /health within 600 s")


def _summary(latencies, wall: float) -> dict:
    return {
        "requests": len(latencies),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "mean_ms": round(float(np.mean(latencies)), 1),
        "requests_per_s": round(len(latencies) / wall, 3),
    }


def _create_user_key() -> dict:
    """A user key made through the CLI for the run: its id and secret (``key``)."""
    created = subprocess.run(
        _rag_command("keys", "create", "--role", "user", "--name", "bench-http", "--json"),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(created.stdout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _latencies(port: int, secret: str, clients: int, requests: int, max_new_tokens: int) -> tuple[dict, dict]:
    """After one warm-up call: the summary of one client alone (a quarter as many requests),
    then of ``clients`` concurrent clients sending ``requests``."""
    import httpx

    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:

        def one(i: int) -> float:
            started = time.perf_counter()
            body = {"query": HTTP_QUESTIONS[i % len(HTTP_QUESTIONS)], "max_new_tokens": max_new_tokens}
            client.post("/generate", json=body).raise_for_status()
            return (time.perf_counter() - started) * 1000

        def run(concurrency: int, count: int) -> dict:
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = list(pool.map(one, range(count)))
            return _summary(latencies, time.perf_counter() - started)

        one(0)
        baseline = run(1, max(2, requests // 4))
        loaded = run(clients, requests)
    return baseline, loaded


def http_generate_latency(*, clients: int = 4, requests: int = 24, max_new_tokens: int = 32) -> dict:
    """p50/p99/mean latency (ms) and throughput of ``requests`` /generate calls (after one
    warm-up) sent by ``clients`` concurrent clients to a ``rag serve`` started on 127.0.0.1 for
    the run, beside the baseline of one client alone (a quarter as many requests) in the same
    run; the user key is created through the CLI for the run and revoked after."""
    key = _create_user_key()
    port = _free_port()
    server = _start_rag_serve(port)
    try:
        baseline, loaded = _latencies(port, key["key"], clients, requests, max_new_tokens)
    finally:
        server.terminate()
        server.wait(timeout=60)
        subprocess.run(_rag_command("keys", "revoke", str(key["id"])), capture_output=True, check=True)
    return {
        "max_new_tokens": max_new_tokens,
        "one_client": baseline,
        f"{clients}_clients": loaded,
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]},
    }
