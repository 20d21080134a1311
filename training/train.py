"""The training loop: a short plain loop (no Trainer) so the loss, the curriculum and the
checkpoint stay in view. Loss on the answer tokens only; the language-model head runs only on
those positions, which saves an eighth of the forward pass over a 49k vocabulary.

Progress is the larger of steps done / ``max_steps`` and minutes spent / ``max_minutes``, so a
run on a busy machine still ends on time with a complete schedule: the learning rate warms up
over ``warmup_steps`` then decays linearly to zero at progress 1, and the curriculum shows each
answerable record's gold passage alone until progress ``curriculum``, then the full records
(distractors, shuffled order, refusal targets). A checkpoint (trainable weights, optimizer,
losses, minutes, batches drawn) is written every ``checkpoint_every`` steps; a rerun with the
same config resumes from it, also with a changed budget (``FinetuneConfig.identity``)."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError
from models.generator import END_OF_TURN
from models.prompt import format_answer, render_prompt
from training.batches import Example, answer_masked, collate, cycle_batches, gold_only
from training.config import FinetuneConfig

CHECKPOINT = "checkpoint.pt"


def encode_records(records: list[dict], tokenizer: Any, max_seq_len: int) -> list[Example]:
    """Each record as prompt (serving template) + answer + end of turn; records longer than
    ``max_seq_len`` tokens are left out."""
    examples = []
    for record in records:
        prompt = render_prompt(record["question"], [p["text"] for p in record["passages"]], tokenizer)
        answer = format_answer(record["answer"], record["citations"]) + END_OF_TURN
        prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
        answer_ids = tokenizer(answer, add_special_tokens=False).input_ids
        if len(prompt_ids) + len(answer_ids) <= max_seq_len:
            examples.append(answer_masked(prompt_ids, answer_ids))
    return examples


def make_trainable(model: Any, config: FinetuneConfig) -> Any:
    """Freeze: embeddings and the lower ``freeze_layers`` blocks fixed, the rest (and the final
    norm) trained. LoRA: every weight fixed, adapters on the attention and MLP projections."""
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        return get_peft_model(
            model,
            LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.0, target_modules=targets),
        )
    blocks = model.model.layers
    if not 0 <= config.freeze_layers < len(blocks):
        raise InputError(
            f"--freeze-layers {config.freeze_layers} leaves nothing to train; expected 0..{len(blocks) - 1}."
        )
    for parameter in model.parameters():
        parameter.requires_grad = False
    for module in [*blocks[config.freeze_layers :], model.model.norm]:
        for parameter in module.parameters():
            parameter.requires_grad = True
    return model


def answer_loss(model: Any, batch: dict) -> Any:
    """Mean cross entropy over the answer tokens, the head applied only where a label is."""
    import torch.nn.functional as F

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.model(input_ids=batch["input_ids"]).last_hidden_state  # right-padded: see ``collate``
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    logits = causal_lm.lm_head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def resolved_precision(config: FinetuneConfig) -> str:
    """The precision a run computes in: ``auto`` is bfloat16 autocast where the CPU has AMX (a
    LoRA step of 4 x 600 tokens measured 1.7 x faster than float32 on a 2-core Xeon with AMX),
    float32 elsewhere (without native bf16 the autocast is slower than float32)."""
    import torch

    if config.precision != "auto":
        return config.precision
    return "bfloat16" if torch.cpu._is_amx_tile_supported() else "float32"


def lr_factor(step: int, progress: float, warmup_steps: int) -> float:
    """Linear warm-up over the first steps, then linear decay to zero at progress 1."""
    return min((step + 1) / warmup_steps, max(0.0, 1.0 - progress))


@dataclass
class TrainState:
    losses: list[float] = field(default_factory=list)
    minutes: float = 0.0
    drawn: dict[str, int] = field(default_factory=lambda: {"gold": 0, "full": 0})  # batches per stage

    def progress(self, config: FinetuneConfig) -> float:
        return max(len(self.losses) / config.max_steps, self.minutes / config.max_minutes)


class _Stages:
    """The two curriculum streams, each a seeded sequence of bucketed batches; ``drawn``
    counts let a resumed run continue both exactly where they were."""

    def __init__(self, records: list[dict], tokenizer: Any, config: FinetuneConfig, drawn: dict[str, int]):
        gold = encode_records([gold_only(r) for r in records if r["answerable"]], tokenizer, config.max_seq_len)
        full = encode_records(records, tokenizer, config.max_seq_len)
        if not full:
            raise InputError(
                f"no training record fits --max-seq-len {config.max_seq_len}; raise it or rebuild with shorter windows."
            )
        self.streams = {
            "gold": cycle_batches(gold or full, config.batch_size, random.Random(config.seed)),
            "full": cycle_batches(full, config.batch_size, random.Random(config.seed + 1)),
        }
        self.drawn = drawn
        for name, count in drawn.items():
            for _ in range(count):
                next(self.streams[name])

    def next(self, stage: str) -> list[Example]:
        self.drawn[stage] += 1
        return next(self.streams[stage])


def train(
    model: Any,
    tokenizer: Any,
    records: list[dict],
    config: FinetuneConfig,
    work_dir: Path,
    *,
    on_step: Callable[[int, float, float], None] = lambda step, loss, progress: None,
) -> tuple[Any, TrainState]:
    """Train ``model`` (made trainable here) on ``records``; returns it and the final state.
    ``on_step(step, loss, progress)`` reports each step."""
    import torch

    torch.manual_seed(config.seed)
    model = make_trainable(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=0.0)
    state = TrainState()
    checkpoint = work_dir / CHECKPOINT
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        if FinetuneConfig.from_dict(saved["config"]).identity() == config.identity():
            model.load_state_dict(saved["trainable"], strict=False)
            optimizer.load_state_dict(saved["optimizer"])
            state = TrainState(saved["losses"], saved["minutes"], saved["drawn"])
    stages = _Stages(records, tokenizer, config, state.drawn) if state.progress(config) < 1.0 else None
    pad_id = tokenizer.pad_token_id
    bf16 = resolved_precision(config) == "bfloat16"
    clock, minutes_before = time.monotonic(), state.minutes
    while stages and state.progress(config) < 1.0:
        step, progress = len(state.losses), state.progress(config)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * lr_factor(step, progress, config.warmup_steps)
        batch = stages.next("gold" if progress < config.curriculum else "full")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = answer_loss(model, collate(batch, pad_id))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state.losses.append(round(float(loss.detach()), 4))
        state.minutes = minutes_before + (time.monotonic() - clock) / 60
        on_step(step + 1, state.losses[-1], state.progress(config))
        if (step + 1) % config.checkpoint_every == 0 or state.progress(config) >= 1.0:
            _save_checkpoint(checkpoint, model, optimizer, state, config)
    model.eval()
    return model, state


def _save_checkpoint(path: Path, model: Any, optimizer: Any, state: TrainState, config: FinetuneConfig) -> None:
    import torch

    names = {name for name, p in model.named_parameters() if p.requires_grad}
    saved = {
        "config": config.to_dict(),
        "trainable": {k: v for k, v in model.state_dict().items() if k in names},
        "optimizer": optimizer.state_dict(),
        "losses": state.losses,
        "minutes": state.minutes,
        "drawn": state.drawn,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(saved, temporary)
    temporary.replace(path)
