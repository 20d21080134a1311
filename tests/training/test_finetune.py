"""Fine-tuning mechanics on a tiny random Llama: the answer-token mask, bucketing, a loss
that falls, checkpoint and resume, and a saved, registered, loadable artifact."""

import json
import random

import pytest

from core.errors import InputError
from models.artifact import ModelArtifact, weights_sha256
from models.prompt import format_answer
from models.registry import get_model
from tests.stand_ins import HashingEmbedder
from tests.training.finetune_fixtures import qa_records, tiny_model, tiny_tokenizer, write_jsonl
from training.batches import IGNORE, Example, answer_masked, bucketed_batches, collate, gold_only
from training.config import ADDED_FIELDS, FinetuneConfig
from training.finetune import RUN_FILE, run_finetune, training_records
from training.train import encode_records, lr_factor, resolved_precision, train


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def test_loss_mask_keeps_only_the_answer(tokenizer):
    record = qa_records()[0]
    (example,) = encode_records([record], tokenizer, 512)
    answer = [t for t, label in zip(example.input_ids, example.labels) if label != IGNORE]
    assert tokenizer.decode(answer) == tokenizer.decode(
        tokenizer(
            format_answer(record["answer"], record["citations"]) + "<|im_end|>", add_special_tokens=False
        ).input_ids
    )
    assert example.labels[: len(example.labels) - len(answer)] == [IGNORE] * (len(example.labels) - len(answer))
    assert answer_masked([1, 2], [3]) == Example([1, 2, 3], [IGNORE, IGNORE, 3])
    assert encode_records([record], tokenizer, 5) == []  # too long for max_seq_len: left out


def test_gold_only_keeps_the_cited_passage():
    record = next(r for r in qa_records() if r["answerable"])
    reduced = gold_only(record)
    assert reduced["citations"] == [1] and reduced["passages"] == [record["passages"][record["citations"][0] - 1]]


def test_bucketing_groups_lengths_and_pads():
    examples = [Example([1] * n, [IGNORE] * (n - 1) + [1]) for n in range(1, 33)]
    batches = bucketed_batches(examples, 4, random.Random(0), pool=8)
    assert sorted(len(e.input_ids) for b in batches for e in b) == list(range(1, 33))
    assert all(max(len(e.input_ids) for e in b) - min(len(e.input_ids) for e in b) <= 3 for b in batches)
    batch = collate(batches[0], pad_id=0)
    assert batch["input_ids"].shape == batch["labels"].shape and set(batch) == {"input_ids", "labels"}
    lengths = [len(e.input_ids) for e in batches[0]]
    for row, length in enumerate(lengths):  # right padding, never a label
        assert (batch["input_ids"][row, length:] == 0).all() and (batch["labels"][row, length:] == IGNORE).all()


def test_schedule_warms_up_then_decays():
    assert lr_factor(0, 0.0, 10) == pytest.approx(0.1)
    assert lr_factor(20, 0.5, 10) == pytest.approx(0.5)
    assert lr_factor(40, 1.0, 10) == 0.0


def test_config_rejects_bad_values():
    with pytest.raises(InputError, match="--method"):
        FinetuneConfig(method="full")
    with pytest.raises(InputError, match="--max-minutes"):
        FinetuneConfig(max_minutes=0)
    with pytest.raises(InputError, match="--synthetic 'drop'"):
        FinetuneConfig(synthetic="drop")
    with pytest.raises(InputError, match="--precision 'fp8'"):
        FinetuneConfig(precision="fp8")


def test_precision_auto_follows_the_cpu_and_an_explicit_one_is_kept():
    import torch

    assert resolved_precision(FinetuneConfig(precision="float32")) == "float32"
    assert resolved_precision(FinetuneConfig(precision="bfloat16")) == "bfloat16"
    amx = torch.cpu._is_amx_tile_supported()
    assert resolved_precision(FinetuneConfig()) == ("bfloat16" if amx else "float32")


def test_synthetic_exclude_drops_the_synthetic_training_records(tmp_path):
    synthetic = [
        {**r, "id": f"feedback:{n}", "origin": "feedback", "synthetic": True} for n, r in enumerate(qa_records(3))
    ]
    path = write_jsonl(qa_records() + synthetic, tmp_path / "train.jsonl")
    assert training_records(path, "include") == (qa_records() + synthetic, 0)
    assert training_records(path, "exclude") == (qa_records(), 3)
    with pytest.raises(InputError, match="no record to train on.*--synthetic exclude"):
        training_records(write_jsonl(synthetic, tmp_path / "feedback_only.jsonl"), "exclude")


def test_synthetic_choice_is_part_of_the_run_but_keeps_old_folders():
    include, exclude = FinetuneConfig(), FinetuneConfig(synthetic="exclude")
    assert include.identity() != exclude.identity()
    before = {k: v for k, v in include.identity().items() if k not in ADDED_FIELDS}  # made before the fields existed
    assert include.folder_identity() == before and exclude.folder_identity()["synthetic"] == "exclude"
    assert FinetuneConfig.from_dict(before).identity() == include.identity()  # its checkpoint resumes


def _config(**changes):
    values = dict(freeze_layers=2, lr=1e-2, warmup_steps=2, batch_size=4, max_steps=24, checkpoint_every=4, dev_limit=4)
    return FinetuneConfig(**{**values, **changes})


@pytest.mark.parametrize(("method", "precision"), [("freeze", "float32"), ("lora", "float32"), ("lora", "bfloat16")])
def test_a_few_steps_lower_the_loss(tokenizer, tmp_path, method, precision):
    model, state = train(
        tiny_model(tokenizer),
        tokenizer,
        qa_records(),
        _config(method=method, lr=1e-1 if method == "lora" else 1e-2, precision=precision),
        tmp_path,
    )
    assert len(state.losses) == 24 and state.drawn["gold"] + state.drawn["full"] == 24
    assert sum(state.losses[-4:]) < sum(state.losses[:4])
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    if method == "freeze":
        assert trained and all("layers.2." in n or "layers.3." in n or n == "model.norm.weight" for n in trained)
    else:
        assert trained and all("lora_" in n for n in trained)


def test_rerun_resumes_from_the_checkpoint(tokenizer, tmp_path):
    config = _config(max_steps=8)
    _, whole = train(tiny_model(tokenizer), tokenizer, qa_records(), config, tmp_path / "whole")

    def interrupt(step, loss, progress):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(tokenizer), tokenizer, qa_records(), config, tmp_path / "cut", on_step=interrupt)
    _, resumed = train(tiny_model(tokenizer), tokenizer, qa_records(), config, tmp_path / "cut")
    assert resumed.losses == pytest.approx(whole.losses, abs=1e-3)


def test_run_saves_registers_and_loads_the_artifact(tokenizer, tmp_path, settings, conn):
    from transformers import AutoModelForCausalLM

    base_dir = tmp_path / "base"
    tiny_model(tokenizer).save_pretrained(base_dir)
    base = ModelArtifact(base_dir, weights_sha256(base_dir))
    train_path = write_jsonl(qa_records(), tmp_path / "train.jsonl")
    dev_path = write_jsonl(qa_records(4, seed=1), tmp_path / "dev.jsonl")
    summary = run_finetune(
        settings,
        train_path,
        dev_path,
        _config(max_steps=4),
        tmp_path / "run",
        loaded=(tiny_model(tokenizer), tokenizer, base),
        embedder=HashingEmbedder(),
    )
    saved = tmp_path / "run" / "model"
    assert AutoModelForCausalLM.from_pretrained(saved) is not None
    on_disk = json.loads((saved / RUN_FILE).read_text())
    assert on_disk["sha256"] == weights_sha256(saved) and on_disk["base"]["sha256"] == base.sha256
    assert on_disk["train_data"]["sha256"] and on_disk["config"]["max_steps"] == 4 and len(on_disk["losses"]) == 4
    assert on_disk["config"]["synthetic"] == "include" and on_disk["train_data"]["synthetic_dropped"] == 0
    assert {"f1", "exact_match", "citation_accuracy", "refusal_accuracy"} <= set(on_disk["dev_metrics"])
    assert set(on_disk["dev_metrics_by_decoding"]) == {"copy", "free"} and "refusal_threshold" in on_disk["policy"]
    assert on_disk["dev_metrics_by_decoding"][on_disk["policy"]["decoding"]] == on_disk["dev_metrics"]
    record = get_model(conn, summary["model_id"])
    assert record.status == "candidate" and record.kind == "full" and record.sha256 == on_disk["sha256"]
    assert record.parent_id is not None and record.metrics["f1"] == on_disk["dev_metrics"]["f1"]
    assert record.policy == on_disk["policy"]
