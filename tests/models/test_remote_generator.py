"""``RemoteGenerator`` against a real OpenAI-compatible server on 127.0.0.1: this service's own
``/v1`` routes (``service.app.create_app`` with the stand-in searcher and a scripted generator,
served by uvicorn in a thread, on a real Postgres). The engine's gate is off
(``refusal_threshold=-1``), so what comes back is the scripted reply, word by word.

The generator contract runs with two overrides, because a remote engine gives no refusal
score: ``refusal_score`` is None (not a mean log-probability), and the refusal threshold never
decides (the engine's own refusal sentence is the model's refusal: tested below). Then the
citation repair, the token counts, and the whole service answering through a remote engine, the
log row naming the remote model."""

from contextlib import contextmanager

import httpx
import pytest

from models.policy import AnswerPolicy
from models.prompt import REFUSAL, is_refusal, render_prompt
from models.registry import get_model, register_model
from models.remote_generator import ChatMLTemplate, CitationRepair, RemoteGenerator, best_supported, openai_client
from retrieval.base import SearchHit
from service.app import create_app
from service.keys import Role, create_key
from tests.models.test_generator_contract import PASSAGES, QUESTION, GeneratorContract, _drained
from tests.service.conftest import serving
from tests.stand_ins import FixedSearcher, ScriptedGenerator

ENGINE_MODEL = "rag"  # what this service's /v1/chat/completions calls its chat model
REPLY = "Marie Curie studied physics in Paris [1]"  # longer than the contract's budgets


def hits(texts: list[str]) -> list[SearchHit]:
    return [
        SearchHit(i + 1, f"file:///remote/{i}.md", "demo", text, (0, len(text)), {}, 0.9 - i / 10)
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def engine_settings(settings):
    """No gate and no registry refresh: the engine answers every prompt with its script."""
    return settings.model_copy(update={"refusal_threshold": -1.0, "model_refresh_seconds": 0})


@pytest.fixture
def rag_engine(engine_settings, conn, tmp_path):
    """``rag_engine(generator)``: this service's ``/v1`` answering with ``generator`` over three
    passages, served on a free port; yields (base URL of /v1, a user key)."""
    register_model(conn, name="scripted", kind="base", path=tmp_path, sha256="0" * 64)
    secret = create_key(conn, Role.user, name="engine")[1]
    conn.commit()

    @contextmanager
    def engine(generator: ScriptedGenerator):
        searcher = FixedSearcher(hits([*PASSAGES, "Warsaw is the capital of Poland."]))
        with serving(create_app(engine_settings, searcher=searcher, generator=generator)) as base_url:
            yield f"{base_url}/v1", secret

    return engine


@pytest.fixture
def scripted():
    return ScriptedGenerator(REPLY)


@pytest.fixture
def remote(rag_engine, scripted):
    """A ``RemoteGenerator`` on the engine that answers with ``scripted``."""
    with rag_engine(scripted) as (url, key):
        yield RemoteGenerator(openai_client(url, key), ENGINE_MODEL)


class TestRemoteGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self, remote):
        return remote

    @pytest.mark.parametrize("decoding", ["copy", "free"])
    def test_a_stream_of_pieces_that_add_up_to_the_result(self, generator, prompt, decoding):
        """The contract's test, except that the refusal score is None: the engine gives none."""
        policy = AnswerPolicy(decoding=decoding, max_new_tokens=12)
        pieces, result = _drained(generator.generate(prompt, PASSAGES, policy))
        assert pieces and all(isinstance(piece, str) and piece for piece in pieces)
        assert "".join(pieces) == result.text
        assert 0 < result.completion_tokens <= 12 and result.prompt_tokens > 0
        assert result.refusal_score is None
        assert _drained(generator.generate(prompt, PASSAGES, policy))[1] == result  # temperature 0: the same

    def test_the_refusal_when_the_score_reaches_the_threshold(self, generator, prompt):
        """Replaced: without a score the threshold never decides; the engine's reply stands."""
        results = [
            _drained(generator.generate(prompt, PASSAGES, AnswerPolicy(refusal_threshold=t, max_new_tokens=12)))[1]
            for t in (None, -100.0, 0.0)
        ]
        assert results[0] == results[1] == results[2] and not is_refusal(results[0].text)
        assert results[0].refusal_score is None


def test_the_prompt_is_the_template_and_the_engine_gets_its_messages(remote, scripted, prompt_messages):
    prompt = render_prompt(QUESTION, PASSAGES, remote.tokenizer)
    assert remote.tokenizer.messages(prompt) == prompt_messages
    _drained(remote.generate(prompt, PASSAGES, AnswerPolicy()))
    engine_prompt = scripted.prompts[-1]  # the engine's own prompt around our user turn
    assert all(passage in engine_prompt for passage in PASSAGES) and QUESTION in engine_prompt


@pytest.fixture
def prompt_messages():
    from models.prompt import TEMPLATE, number_passages

    user = TEMPLATE.user.format(passages=number_passages(PASSAGES), question=QUESTION)
    return [{"role": "system", "content": TEMPLATE.system}, {"role": "user", "content": user}]


@pytest.mark.slow
def test_the_chat_template_renders_as_smollm2s_own(base_tokenizer, prompt_messages):
    """The logged prompt of a remote answer is the in-process model's prompt, character for character."""
    ours = ChatMLTemplate().apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)
    assert ours == base_tokenizer.apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)


def test_the_token_counts_are_the_servers(remote, scripted):
    prompt = render_prompt(QUESTION, PASSAGES, remote.tokenizer)
    stream = remote.generate(prompt, PASSAGES, AnswerPolicy(max_new_tokens=5))
    _drained(stream)
    assert stream.prompt_tokens == len(scripted.prompts[-1].split())  # the scripted engine: a word a token
    assert stream.completion_tokens == 5


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("Paris [3] physics", "Paris  physics [1]"),  # [3] names no passage given here: dropped, then repaired
        ("Lyon is in France", "Lyon is in France [2]"),  # no marker: the best-supported passage's
        ("Paris [1, 2]", "Paris [1, 2]"),
        ("The passages do not mention her.", "The passages do not mention her."),  # a refusal cites nothing
    ],
)
def test_citations_are_checked_and_repaired_after_the_fact(rag_engine, reply, shown):
    with rag_engine(ScriptedGenerator(reply)) as (url, key):
        generator = RemoteGenerator(openai_client(url, key), ENGINE_MODEL)
        prompt = render_prompt(QUESTION, PASSAGES, generator.tokenizer)
        assert _drained(generator.generate(prompt, PASSAGES, AnswerPolicy(decoding="free")))[1].text == shown


@pytest.mark.parametrize(
    ("chunks", "force", "shown"),
    [
        (["Paris [", "7", "] in", " Fra", "nce [", "2]"], True, "Paris  in France [2]"),
        (["Paris [", "x] [12"], True, "Paris [x] [12 [1]"),  # not markers: shown as they are
        (["physics in Paris"], False, "physics in Paris"),  # free decoding without force_citations
        (["physics in Paris"], True, "physics in Paris [1]"),
        ([REFUSAL], True, REFUSAL),
    ],
)
def test_the_repair_holds_a_marker_until_it_closes(chunks, force, shown):
    repair = CitationRepair(PASSAGES, force=force)
    pieces = [piece for chunk in chunks for piece in repair.feed(chunk)] + repair.finish()
    assert all(pieces) and "".join(pieces) == shown


def test_the_repair_cites_the_passage_holding_the_answer_before_word_overlap():
    passages = ["Paris is the capital of France.", "The capital, Paris, lies on the Seine."]
    assert best_supported("the capital, Paris", passages) == 2  # held by 2; the overlap ties
    assert best_supported("Seine river", passages) == 2 and best_supported("Lyon", passages) == 1


def test_the_service_answers_through_a_remote_engine_and_logs_the_remote_model(rag_engine, engine_settings, conn):
    admin = create_key(conn, Role.admin, name="admin")[1]
    conn.commit()
    with rag_engine(ScriptedGenerator("Marie Curie studied physics in Paris.")) as (url, key):
        remote_settings = engine_settings.model_copy(
            update={"generator_url": url, "generator_model": ENGINE_MODEL, "generator_api_key": key}
        )
        app = create_app(remote_settings, searcher=FixedSearcher(hits(PASSAGES)))
        with serving(app) as base_url:
            body = httpx.post(
                f"{base_url}/generate", json={"query": QUESTION}, headers={"Authorization": f"Bearer {admin}"}
            ).json()
    assert body["answer"] == "Marie Curie studied physics in Paris. [1]" and not body["refused"], body
    assert [c["n"] for c in body["citations"]] == [1]
    assert body["model"]["kind"] == "remote" and body["model"]["name"] == ENGINE_MODEL
    model_id = conn.execute("SELECT model_id FROM generation_logs WHERE id = %s", (body["log_id"],)).fetchone()[0]
    record = get_model(conn, model_id)
    assert (record.kind, record.name, record.path) == ("remote", ENGINE_MODEL, url)
