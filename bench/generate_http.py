"""``/generate`` latency over HTTP (``python -m bench.generate --http``): p50/p99 and
requests/s at 1, 4 and 8 concurrent clients (by default) against one ``rag serve`` on 127.0.0.1
over the configured data dir, each beside one client alone in the same run. httpx (a dev extra)
is imported only when measuring."""

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


def _latencies(port: int, secret: str, clients: list[int], requests: int, max_new_tokens: int) -> dict[int, dict]:
    """After one warm-up call: the summary of ``requests`` calls sent by each number of
    concurrent clients in ``clients`` (one after the other, same questions)."""
    import httpx

    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:

        def one(i: int) -> float:
            started = time.perf_counter()
            body = {"query": HTTP_QUESTIONS[i % len(HTTP_QUESTIONS)], "max_new_tokens": max_new_tokens}
            client.post("/generate", json=body).raise_for_status()
            return (time.perf_counter() - started) * 1000

        def run(concurrency: int) -> dict:
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = list(pool.map(one, range(requests)))
            return _summary(latencies, time.perf_counter() - started)

        one(0)
        return {concurrency: run(concurrency) for concurrency in clients}


def _against_one_client(runs: dict[int, dict]) -> dict[int, dict]:
    """Each run's throughput as a multiple of one client's, and its p99 as a multiple of one
    client's p50 (the issue's targets at 4 clients: at least 2.5, under 2)."""
    alone = runs[1]
    return {
        concurrency: {
            "requests_per_s_x": round(run["requests_per_s"] / alone["requests_per_s"], 2),
            "p99_over_one_client_p50": round(run["p99_ms"] / alone["p50_ms"], 2),
        }
        for concurrency, run in runs.items()
    }


def http_generate_latency(*, clients: list[int], requests: int = 24, max_new_tokens: int = 32) -> dict:
    """p50/p99/mean latency (ms) and throughput of ``requests`` /generate calls (after one
    warm-up) at each number of concurrent ``clients`` (one client alone is always measured,
    first) against a ``rag serve`` started on 127.0.0.1 for the run, with the ratios against one
    client; the user key is created through the CLI for the run and revoked after."""
    key = _create_user_key()
    port = _free_port()
    server = _start_rag_serve(port)
    try:
        runs = _latencies(port, key["key"], sorted({1, *clients}), requests, max_new_tokens)
    finally:
        server.terminate()
        server.wait(timeout=60)
        subprocess.run(_rag_command("keys", "revoke", str(key["id"])), capture_output=True, check=True)
    return {
        "max_new_tokens": max_new_tokens,
        "requests_per_run": requests,
        "clients": runs,
        "against_one_client": _against_one_client(runs),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]},
    }
