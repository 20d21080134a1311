"""Prometheus metrics, one registry per app (so two apps in one process, as in the tests,
do not collide): request counts and latency per route, retrieval and generation time, tokens.

``MetricsMiddleware`` labels requests by the route's path template (``/logs/{log_id}``, else
``unmatched``) and by a standard HTTP method (else ``other``), never by what the client sent, so
the number of series stays bounded whatever the requests."""

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_http_request_seconds",
            "Time to the response head, by route.",
            ["route", "method"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.retrieval = Histogram(
            "rag_retrieval_seconds", "Retrieval time per generate request.", buckets=_SECONDS, registry=self.registry
        )
        self.generation = Histogram(
            "rag_generation_seconds",
            "Model generation time per generate request.",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.tokens = Counter("rag_tokens", "Tokens processed, by kind.", ["kind"], registry=self.registry)

    def observe_answer(self, *, retrieve_ms: float, generate_ms: float, prompt_tokens: int, completion_tokens: int):
        self.retrieval.observe(retrieve_ms / 1000)
        self.generation.observe(generate_ms / 1000)
        self.tokens.labels("prompt").inc(prompt_tokens)
        self.tokens.labels("completion").inc(completion_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request; an unmatched path is labelled ``unmatched``."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.metrics.latency.labels(_route(scope), _method(scope)).observe(time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            self.metrics.requests.labels(_route(scope), _method(scope), str(status)).inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", "unmatched")


def _method(scope: Scope) -> str:
    return scope["method"] if scope["method"] in _METHODS else "other"
