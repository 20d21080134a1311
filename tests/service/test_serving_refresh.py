"""The promoted model picked up without a restart (``service.serving_refresh``), on the real
database with stand-in generators: one check, a model that fails to load, and a promotion that
switches the model naming /generate's responses and log rows after the refresh interval."""

import time
from contextlib import contextmanager

import pytest

from answering.pipeline import AnswerRequest
from models.registry import register_model, serving_model, set_status
from service.metrics import Metrics
from service.services import open_services
from service.serving_refresh import ServingRefresh
from tests.service.http_checks import QUERY
from tests.stand_ins import ScriptedGenerator

REFRESH_SECONDS = 0.1


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"model_refresh_seconds": REFRESH_SECONDS})


@pytest.fixture
def candidate_id(conn, prepared, tmp_path):
    """A second stand-in model, registered but not promoted."""
    return register_model(conn, name="candidate", kind="full", path=tmp_path, sha256="1" * 64)


def _eventually(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(REFRESH_SECONDS / 2)


class _Recorder:
    """``compose`` and ``swap`` for a ``ServingRefresh``: records the models composed and swapped in."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.composed, self.swapped = [], []

    def compose(self, model):
        self.composed.append(model.id)
        if self.fail:
            raise RuntimeError("weights missing")
        return model.id  # stands in for the answerer

    def swap(self, answerer):
        self.swapped.append(answerer)


def _refresh(conn, recorder):
    @contextmanager
    def connect():
        yield conn
        conn.commit()

    return ServingRefresh(connect, serving_model(conn), compose=recorder.compose, swap=recorder.swap, interval=60)


def test_check_swaps_in_an_answerer_only_when_the_serving_model_changed(settings, conn, candidate_id):
    recorder = _Recorder()
    refresh = _refresh(conn, recorder)
    assert refresh.check() is None and recorder.composed == []
    set_status(conn, candidate_id, "promoted")
    assert refresh.check().id == candidate_id
    assert refresh.check() is None
    assert recorder.composed == recorder.swapped == [candidate_id]


def test_a_model_that_fails_to_load_is_skipped_until_the_registry_changes(settings, conn, candidate_id, tmp_path):
    recorder = _Recorder(fail=True)
    refresh = _refresh(conn, recorder)
    set_status(conn, candidate_id, "promoted")
    assert refresh.check() is None and refresh.check() is None
    assert recorder.composed == [candidate_id] and recorder.swapped == []
    recorder.fail = False
    other_id = register_model(conn, name="other", kind="full", path=tmp_path, sha256="2" * 64, status="promoted")
    assert refresh.check().id == other_id and recorder.swapped == [other_id]


def test_a_promotion_switches_the_answering_model_after_the_refresh_interval(settings, conn, candidate_id, searcher):
    loaded = []

    def load_generator(model):
        loaded.append(model.id)
        return ScriptedGenerator(f"Answered by {model.name} [1].")

    services = open_services(
        settings, Metrics(), searcher=searcher, generator=ScriptedGenerator("Old [1]."), load_generator=load_generator
    )
    try:
        in_flight = services.answerer  # what a request that started before the swap holds
        set_status(conn, candidate_id, "promoted")
        conn.commit()
        _eventually(lambda: services.answerer.model.id == candidate_id)
        request = AnswerRequest(QUERY["query"])
        result = services.answerer.answer(request)
        assert loaded == [candidate_id] and result.answer == "Answered by candidate [1]."
        assert in_flight.answer(request).model["name"] == "scripted"
        logged = conn.execute("SELECT model_id FROM generation_logs ORDER BY id").fetchall()
        assert [row[0] for row in logged] == [candidate_id, in_flight.model.id]
    finally:
        services.close()


def test_generate_names_the_newly_promoted_model(client, auth, conn, candidate_id):
    assert client.post("/generate", json=QUERY, headers=auth["user"]).json()["model"]["name"] == "scripted"
    set_status(conn, candidate_id, "promoted")
    conn.commit()

    def answered_by_candidate():
        return client.post("/generate", json=QUERY, headers=auth["user"]).json()["model"]["id"] == candidate_id

    _eventually(answered_by_candidate)
