"""The promoted model picked up without a restart: every ``RAG_MODEL_REFRESH_SECONDS`` a
background thread asks the registry for its serving model (``models.registry.serving_model``:
the promoted one, else the newest base); when its id changed, it composes a new answerer for
it (loading its generator) off the request path and hands it to ``swap``. A request reads the
answerer once, so the ones in flight finish on the old one, and each log row names the model
that answered it. A model that fails to load is logged and skipped until the registry
changes again; the old answerer keeps serving."""

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg

from answering.pipeline import Answerer
from models.registry import ModelRecord, serving_model

log = logging.getLogger("service")

Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


class ServingRefresh:
    """Checks the registry every ``interval`` seconds (``start``); ``check`` is one check."""

    def __init__(
        self,
        connect: Connect,
        current: ModelRecord,
        *,
        compose: Callable[[ModelRecord], Answerer],
        swap: Callable[[Answerer], None],
        interval: float,
    ):
        self.connect = connect
        self.compose = compose
        self.swap = swap
        self.interval = interval
        self._seen_id = current.id  # the model serving, or the last one that failed to load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> ModelRecord | None:
        """Swap in an answerer for the registry's serving model when it changed; return the new model."""
        with self.connect() as conn:
            model = serving_model(conn)
        if model.id == self._seen_id:
            return None
        self._seen_id = model.id
        try:
            answerer = self.compose(model)
        except Exception:
            log.exception("could not load the new serving model %s (id %s); serving the old one", model.name, model.id)
            return None
        self.swap(answerer)
        log.info("now serving model %s (id %s)", model.name, model.id)
        return model

    def start(self) -> None:
        """Check every ``interval`` seconds in a daemon thread (never when ``interval`` is 0)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="serving-refresh", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the database may be briefly away: try again next time
                log.exception("checking the registry for the serving model failed")
