from functools import partial

import pytest

from answering.compose import compose_answerer
from answering.pipeline import AnswerRequest
from core.db import connection
from models.artifact import ModelArtifact, weights_sha256
from models.policy import AnswerPolicy
from models.registry import register_model
from tests.stand_ins import FixedSearcher, HashingEmbedder, ScriptedGenerator
from tests.versioning.conftest import weights_folder
from versioning.replay import replay_log


@pytest.fixture
def replies():
    """sha256 of a model's weights -> what its stand-in generator answers."""
    return {}


@pytest.fixture
def replay(settings, conn, world, replies):
    loaded = []

    def generator_for(artifact, dtype):
        loaded.append(artifact)
        return ScriptedGenerator(replies[artifact.sha256])

    def run(log_id):
        return replay_log(
            settings,
            conn,
            log_id,
            generator_for=generator_for,
            open_searcher=lambda: FixedSearcher(world.hits),
            embedder=HashingEmbedder,
            base=lambda: ModelArtifact(world.model_dir, ""),
        )

    run.loaded = loaded
    return run


@pytest.fixture
def logged(settings, conn, world, base_model, replies):
    """Answer a question through the serving pipeline (base model) and return its log id."""
    replies[base_model.sha256] = "Paris [1]"
    answerer = compose_answerer(
        settings,
        partial(connection, settings, autocommit=True),
        model=base_model,
        searcher=FixedSearcher(world.hits),
        generator=ScriptedGenerator("Paris [1]"),
    )
    return answerer.answer(AnswerRequest("What is the capital of France?", k=2)).log_id


def logs(conn) -> int:
    return conn.execute("SELECT count(*) FROM generation_logs").fetchone()[0]


def test_a_fresh_log_replays_to_the_identical_answer_and_writes_no_row(conn, logged, replay):
    before = logs(conn)
    report = replay(logged)
    assert report.identical and report.changed == [] and report.unavailable == []
    assert report.replayed.answer == report.logged.answer == "Paris [1]"
    assert report.replayed.chunk_ids == report.logged.chunk_ids
    assert report.current is None  # nothing changed: no second run
    assert logs(conn) == before


def test_after_another_model_is_promoted_replay_reports_the_model_change(
    conn, tmp_path, logged, replay, replies, base_model
):
    folder = weights_folder(tmp_path / "models" / "ft", b"fine-tuned weights")
    sha = weights_sha256(folder)
    replies[sha] = "Paris, France [1]"
    register_model(
        conn,
        name="ft",
        kind="full",
        path=folder,
        sha256=sha,
        parent_id=base_model.id,
        status="promoted",
        policy=AnswerPolicy(refusal_threshold=-0.4).to_dict(),
    )
    conn.commit()
    report = replay(logged)
    assert report.changed == ["model", "policy"]  # the promoted model has a policy of its own
    assert report.parts["model"].recorded["sha256"] == base_model.sha256
    assert report.parts["model"].current["sha256"] == sha
    assert report.identical  # the recorded model is still on disk: the replay is exact
    assert (report.logged.answer, report.current.answer) == ("Paris [1]", "Paris, France [1]")
    assert report.current.model["sha256"] == sha


def test_gone_weights_and_passages_are_reported_and_only_the_current_run_is_made(conn, world, logged, replay):
    for path in world.model_dir.iterdir():
        path.write_bytes(b"overwritten")
    conn.execute("DELETE FROM chunks WHERE id = %s", (world.hits[1].chunk_id,))
    conn.commit()
    report = replay(logged)
    assert report.replayed is None and not report.identical
    assert [reason.split(":")[0] for reason in report.unavailable] == ["model", "data"]
    assert report.parts["data"].changed and report.parts["data"].current["missing_chunks"] == [world.hits[1].chunk_id]


def test_the_log_row_carries_the_dataset_version_of_its_passages(conn, world, settings, base_model):
    from versioning.store import NewVersion, link_collection, record_version

    counts = {"files": 1, "records": 1, "synthetic_records": 0, "by_file": {}}
    version, _ = record_version(conn, NewVersion("docs", "docs", "d" * 32, None, "", {}, counts))
    link_collection(conn, version.id, world.collection, ["%"])
    conn.commit()
    answerer = compose_answerer(
        settings,
        partial(connection, settings, autocommit=True),
        model=base_model,
        searcher=FixedSearcher(world.hits),
        generator=ScriptedGenerator("Paris [1]"),
    )
    log_id = answerer.answer(AnswerRequest("What is the capital of France?", k=2)).log_id
    stamped = conn.execute("SELECT dataset_version_id FROM generation_logs WHERE id = %s", (log_id,)).fetchone()[0]
    assert stamped == version.id


def test_a_replay_answers_under_the_policy_recorded_in_the_row(settings, conn, world, base_model, replay, replies):
    replies[base_model.sha256] = "Paris [1]"
    strict = AnswerPolicy(gate_threshold=0.99)  # this policy's gate refuses the question
    answerer = compose_answerer(
        settings,
        partial(connection, settings, autocommit=True),
        model=base_model,
        searcher=FixedSearcher(world.hits),
        generator=ScriptedGenerator("Paris [1]"),
        policy=strict,
    )
    log_id = answerer.answer(AnswerRequest("What is the capital of France?", k=2)).log_id
    assert conn.execute("SELECT policy FROM generation_logs WHERE id = %s", (log_id,)).fetchone()[0] == strict.to_dict()
    report = replay(log_id)
    assert report.identical and report.replayed.refused  # the recorded gate, not today's default
    assert report.changed == ["policy"] and not report.current.refused  # served now: the default gate answers
