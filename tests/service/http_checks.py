"""What the HTTP tests of the app share: a query, the SSE event parser, the error-body check."""

import json

QUERY = {"query": "How does hybrid search run BM25 and a vector index?"}


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def assert_error(response, status: int, code: str, *words: str):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    for word in words:
        assert word in error["message"], response.text
    assert "Traceback" not in response.text
