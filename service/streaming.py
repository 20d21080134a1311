"""Server-sent events for ``/generate`` with ``"stream": true``.

The model's stream is a blocking iterator, so one worker thread drains it (holding one of the
service's answer slots) and hands each piece to the event loop through an ``asyncio.Queue``. When the
client goes away the response generator is closed, sets ``stop``, and the worker closes the
model's stream at the next piece: the pipeline then marks the log row incomplete."""

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from fastapi.sse import format_sse_event

log = logging.getLogger("service")
_END = object()


class StreamFailure:
    def __init__(self, error_id: str):
        self.error_id = error_id


def drain(open_stream: Callable[[], Iterator[Any]], slot: AbstractContextManager, stop: threading.Event, emit) -> None:
    """Run in a worker thread: emit each item of the stream, then ``_END``; a failure is
    logged and emitted as a ``StreamFailure``."""
    try:
        with slot:
            stream = open_stream()
            try:
                for item in stream:
                    if stop.is_set():
                        break
                    emit(item)
            finally:
                stream.close()
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("error_id=%s while streaming an answer", error_id)
        emit(StreamFailure(error_id))
    finally:
        emit(_END)


async def threaded_items(open_stream: Callable[[], Iterator[Any]], slot: AbstractContextManager) -> AsyncIterator[Any]:
    """The stream's items, produced in a worker thread and consumed here without blocking the loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def emit(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    loop.run_in_executor(None, drain, open_stream, slot, stop, emit)
    try:
        while (item := await queue.get()) is not _END:
            yield item
    finally:
        stop.set()


def sse(event: str, data: Any) -> bytes:
    return format_sse_event(event=event, data_str=json.dumps(data, ensure_ascii=False))


def error_event(failure: StreamFailure) -> bytes:
    message = f"unexpected server error; report error id {failure.error_id} to the operator."
    return sse("error", {"error": {"code": "internal_error", "message": message, "error_id": failure.error_id}})


async def sse_events(items: AsyncIterator[Any], encode: Callable[[Any], bytes]) -> AsyncIterator[bytes]:
    async for item in items:
        yield error_event(item) if isinstance(item, StreamFailure) else encode(item)
