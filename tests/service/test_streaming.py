"""A client that goes away mid-stream, over a real socket: the generation stops and its log
row is kept, marked incomplete."""

import time

import httpx

from service.app import create_app


def test_client_leaving_mid_stream_leaves_an_incomplete_log_row(
    settings, prepared, auth, searcher, make_generator, conn, serve
):
    generator = make_generator(" ".join(f"word{i}" for i in range(200)), delay=0.05)
    app = create_app(settings, searcher=searcher, generator=generator)
    with serve(app) as base_url:
        body = {"query": "How does hybrid search run BM25 and a vector index?", "stream": True, "max_new_tokens": 200}
        with httpx.stream("POST", f"{base_url}/generate", json=body, headers=auth["user"], timeout=30) as response:
            assert response.status_code == 200
            first = next(response.iter_lines())
            assert first == "event: token"
        deadline = time.monotonic() + 20
        row = None
        while row is None and time.monotonic() < deadline:
            row = conn.execute("SELECT status, completion_tokens FROM generation_logs").fetchone()
            conn.rollback()
            time.sleep(0.1)
    assert row is not None and row[0] == "incomplete"
    assert 0 < row[1] < 200
