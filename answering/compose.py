"""The one composition function: ``compose_answerer`` wires the pipeline's parts (searcher,
generator, model record and its answer policy) for every entry point: ``rag ask``, the
service, ``rag eval qa --context retrieved`` and ``rag replay``. A part left out is the real
one: the serving model (resolved once, here), its resolved policy (``models.policy``), its
generator in the policy's dtype, a searcher over the configured database."""

from answering.pipeline import Answerer, Connect
from core.settings import Settings
from models.generator import Generator, load_generator
from models.policy import AnswerPolicy, resolve_policy
from models.registry import ModelRecord
from models.serving import resolve_model
from retrieval.base import Searcher


def compose_answerer(
    settings: Settings,
    connect: Connect,
    *,
    model: ModelRecord | None = None,
    searcher: Searcher | None = None,
    generator: Generator | None = None,
    policy: AnswerPolicy | None = None,
) -> Answerer:
    """An ``Answerer`` whose log rows are written through ``connect``; closing it closes its
    searcher."""
    from retrieval.searcher import open_searcher

    if model is None:
        with connect() as conn:
            model = resolve_model(conn, settings)
    policy = policy or resolve_policy(model.policy, settings)
    generator = generator or load_generator(settings, model.artifact, policy.dtype)
    return Answerer(
        settings,
        searcher=searcher or open_searcher(settings),
        generator=generator,
        model=model,
        policy=policy,
        connect=connect,
    )
