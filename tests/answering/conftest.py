"""Stand-ins for the pipeline's two model seams (the searcher and the generator), so its
tests run without models; the database is the real embedded PostgreSQL."""

from functools import partial

import pytest

from answering.pipeline import Answerer
from models.generator import TokenStream
from models.registry import get_model, register_model
from rag.db import connection
from retrieval.searcher import SearchHit


class ChatTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return "".join(f"<{m['role']}>{m['content']}\n" for m in messages) + "<assistant>"


class ScriptedGenerator:
    """Replies with ``reply`` word by word, and records the prompts and passage counts given."""

    tokenizer = ChatTokenizer()

    def __init__(self, reply: str = "Paris [1]"):
        self.reply = reply
        self.prompts: list[str] = []
        self.passage_counts: list[int | None] = []

    def generate(self, prompt, max_new_tokens, stream=False, n_passages=None):
        self.prompts.append(prompt)
        self.passage_counts.append(n_passages)
        pieces = self.reply.split(" ")
        pieces = [pieces[0]] + [" " + p for p in pieces[1:]]
        tokens = TokenStream((i for i in range(min(len(pieces), max_new_tokens))), lambda ids: "".join(pieces[i] for i in ids), 42)
        if stream:
            return tokens
        list(tokens)
        return tokens.result()


class FixedSearcher:
    """Returns ``hits`` for every query, and records what it was asked."""

    def __init__(self, hits):
        self.hits = hits
        self.calls: list[tuple[str, int, list]] = []

    def search(self, query, *, k=10, mode="hybrid", filters=None):
        self.calls.append((query, k, filters))
        return self.hits[:k]


def _hit(chunk_id: int, text: str, dense: float, score: float = 0.03) -> SearchHit:
    return SearchHit(chunk_id, f"file:///docs/{chunk_id}.txt", "demo", text, (0, len(text)), {}, score, {"bm25": 2.5, "dense": dense})


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
    def make(*, hits=HITS, reply="Paris [1]", **overrides):
        searcher, generator = FixedSearcher(hits), ScriptedGenerator(reply)
        answerer = Answerer(
            settings.model_copy(update=overrides),
            searcher=searcher,
            generator=generator,
            model=model,
            pool_or_connect=partial(connection, settings, autocommit=True),
        )
        return answerer, searcher, generator

    return make
