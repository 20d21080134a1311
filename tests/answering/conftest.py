"""Stand-ins for the pipeline's two model seams (the searcher and the generator), so its
tests run without models; the database is the real embedded PostgreSQL."""

from functools import partial

import pytest

from answering.compose import compose_answerer
from core.db import connection
from models.registry import get_model, register_model
from retrieval.base import SearchHit
from tests.stand_ins import FixedSearcher, ScriptedGenerator


def _hit(chunk_id: int, text: str, dense: float, score: float = 0.03) -> SearchHit:
    return SearchHit(
        chunk_id, f"file:///docs/{chunk_id}.txt", "demo", text, (0, len(text)), {}, score, {"bm25": 2.5, "dense": dense}
    )


HITS = [
    _hit(11, "Paris is the capital of France.", dense=0.71, score=0.033),
    _hit(12, "Lyon is a city in France.", dense=0.52, score=0.016),
]


@pytest.fixture
def make_hit():
    return _hit


@pytest.fixture
def model(conn):
    return get_model(conn, register_model(conn, name="base", kind="base", path="/m/base", sha256="f00d"))


@pytest.fixture
def make_answerer(settings, model):
    def make(*, hits=HITS, reply="Paris [1]", refusal_score=-5.0, policy=None, **overrides):
        searcher, generator = FixedSearcher(hits), ScriptedGenerator(reply, refusal_score=refusal_score)
        answerer = compose_answerer(
            settings.model_copy(update=overrides),
            partial(connection, settings, autocommit=True),
            model=model,
            searcher=searcher,
            generator=generator,
            policy=policy,
        )
        return answerer, searcher, generator

    return make
