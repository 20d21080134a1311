"""From records to training batches, pure apart from the tokenizer: the serving template builds
every prompt, the loss covers only the answer tokens (prompt positions are labelled -100), and
length bucketing groups examples of similar length so little of a batch is padding."""

import random
from collections.abc import Iterator
from dataclasses import dataclass

IGNORE = -100  # the label torch's cross entropy skips


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def answer_masked(prompt_ids: list[int], answer_ids: list[int]) -> Example:
    """The prompt and its answer as one sequence whose labels keep only the answer tokens."""
    return Example(prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids)


def bucketed_batches(
    examples: list[Example], batch_size: int, rng: random.Random, *, pool: int = 16
) -> list[list[Example]]:
    """Batches of similar length: shuffle, sort each pool of ``pool`` batches by length, cut,
    then shuffle the batches, so order stays random while padding stays small."""
    order = examples[:]
    rng.shuffle(order)
    batches = []
    span = batch_size * pool
    for i in range(0, len(order), span):
        chunk = sorted(order[i : i + span], key=lambda e: len(e.input_ids))
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch: list[Example], pad_id: int) -> dict:
    """Right-padded ``input_ids`` and ``labels`` tensors. No attention mask: under causal
    attention a position never sees the padding after it, and the padding's labels are ignored,
    so the loss is the masked one, and the forward keeps its fast causal path (a LoRA step of
    4 x 700 tokens: 4.2 s against 5-6 s with a padding mask, bf16 autocast on a 2-core Xeon)."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    pad = [width - len(e.input_ids) for e in batch]
    return {
        "input_ids": torch.tensor([e.input_ids + [pad_id] * n for e, n in zip(batch, pad)]),
        "labels": torch.tensor([e.labels + [IGNORE] * n for e, n in zip(batch, pad)]),
    }


def cycle_batches(examples: list[Example], batch_size: int, rng: random.Random) -> Iterator[list[Example]]:
    """Bucketed batches forever, reshuffled each pass."""
    while True:
        yield from bucketed_batches(examples, batch_size, rng)


def gold_only(record: dict) -> dict:
    """An answerable record reduced to its gold passage alone (the curriculum's first stage)."""
    gold = record["passages"][record["citations"][0] - 1]
    return {**record, "passages": [gold], "citations": [1]}
