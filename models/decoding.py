"""Greedy-decoding sessions over a loaded causal LM, with a lean one-token step for
Llama-architecture models (SmolLM2 is one).

Decoding one token on a CPU should cost about one read of the weights, but the transformers
forward spends most of each token elsewhere: 30 blocks of seven separate projections plus mask
and cache bookkeeping in torch's per-operation overhead, and torch's matrix-vector product reads
weights at about 11 GB/s on this 2-core AMD EPYC whatever the thread count. ``FusedLlama`` does
the same fp32 arithmetic in numpy, in fewer and larger operations: q/k/v in one matrix-vector
product and gate/up in another (fused copies of those weights, made once per loaded model), a
preallocated KV cache, the rotary angles computed once per token; numpy's OpenBLAS reads the
weights at about 25 GB/s on both cores and its small operations cost a fraction of torch's. The
prompt is still prefilled by the model's own forward, whose cache is copied in.
``bench/generate.py`` measures both paths against the bandwidth bound; the tokens are the same.

OpenBLAS's threads and torch's OpenMP threads must not spin-wait against each other on two
cores: ``rag`` sets ``OMP_WAIT_POLICY=PASSIVE`` before torch loads (``core/__init__.py``).

``Decoder(model).start(prompt_ids, capacity)`` prefills and returns a session holding the
prompt's logits; ``session.step(token)`` appends one token and returns the next logits;
``session.crop(n)`` forgets everything after the first n positions.

Concurrent sessions of one ``Decoder`` share their steps: a step costs one read of the weights
whether it carries one sequence or eight, so ``StepBatcher`` runs the steps that are waiting
when a step ends as one batched step (``FusedLlama.step_many``: every projection one
matrix-matrix product over the batch, attention per sequence over its own cache). A session
that finishes or is abandoned simply stops asking, and the next step runs without it. Prefills
(the model's forward, which keeps both cores busy) and batched steps take turns: one
computation of the model at a time."""

import threading
from typing import Any, Protocol

import numpy as np
import torch

_PROJECTIONS = {"self_attn": ("q_proj", "k_proj", "v_proj", "o_proj"), "mlp": ("gate_proj", "up_proj", "down_proj")}


class Session(Protocol):
    logits: torch.Tensor  # after start: the last prompt position's (the last keep_logits positions' when more than 1)
    length: int  # positions in the cache

    def step(self, token: int) -> torch.Tensor: ...

    def crop(self, length: int) -> None: ...


class CacheSession:
    """Decoding with the model's own forward and a transformers ``DynamicCache``."""

    def __init__(self, model: Any, prompt_ids: list[int], *, keep_logits: int = 1, lock: Any = None):
        from transformers import DynamicCache

        self.model, self.cache, self.length = model, DynamicCache(), len(prompt_ids)
        self._lock = lock or threading.Lock()  # the decoder's: one forward of the model at a time
        with torch.inference_mode():
            inputs = torch.tensor([prompt_ids])
            logits = model(
                input_ids=inputs, past_key_values=self.cache, use_cache=True, logits_to_keep=keep_logits
            ).logits
        self.logits = logits[0] if keep_logits > 1 else logits[0, -1]

    def step(self, token: int) -> torch.Tensor:
        with self._lock, torch.inference_mode():
            output = self.model(input_ids=torch.tensor([[token]]), past_key_values=self.cache, use_cache=True)
        self.logits = output.logits[0, -1]
        self.length += 1
        return self.logits

    def crop(self, length: int) -> None:
        self.cache.crop(length)
        self.length = min(self.length, length)


def supports_fused(model: Any) -> bool:
    """Whether ``model`` is a plain fp32 Llama causal LM the fused step reproduces: RMSNorm,
    rotary attention without rope scaling, SiLU-gated MLP, plain ``nn.Linear`` projections
    without biases (a LoRA-wrapped model is not; a merged one is)."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) != "llama" or getattr(config, "rope_scaling", None):
        return False
    if getattr(model, "dtype", None) != torch.float32:
        return False
    if getattr(config, "hidden_act", None) != "silu" or not hasattr(getattr(model, "model", None), "layers"):
        return False
    return all(
        type(projection) is torch.nn.Linear and projection.bias is None
        for block in model.model.layers
        for part, names in _PROJECTIONS.items()
        for projection in (getattr(getattr(block, part), name) for name in names)
    )


class FusedLlama:
    """Fused fp32 decode weights of one loaded model as numpy arrays (read-only; they share
    memory with the model's tensors except the fused q/k/v and gate/up copies)."""

    def __init__(self, model: Any):
        config = model.config
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps, self.scale = np.float32(config.rms_norm_eps), np.float32(self.head_dim**-0.5)
        rotary = model.model.rotary_emb
        self.inv_freq = _array(rotary.inv_freq)
        self.rotary_scaling = np.float32(getattr(rotary, "attention_scaling", 1.0))
        self.embed = _array(model.model.embed_tokens.weight)
        self.layers = []
        for block in model.model.layers:
            attention, mlp = block.self_attn, block.mlp
            self.layers.append(
                (
                    _array(block.input_layernorm.weight),
                    _array(torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight])),
                    _array(attention.o_proj.weight),
                    _array(block.post_attention_layernorm.weight),
                    _array(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])),
                    _array(mlp.down_proj.weight),
                )
            )
        self.final_norm = _array(model.model.norm.weight)
        self.head = _array(model.lm_head.weight)

    def _rms_norm(self, hidden: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Each row of ``hidden`` (batch x hidden size) normalised and scaled."""
        return weight * (hidden / np.sqrt(np.mean(hidden * hidden, axis=-1, keepdims=True) + self.eps))

    def _rotate(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        half = self.head_dim // 2
        return x * cos + np.concatenate((-x[:, half:], x[:, :half]), axis=1) * sin

    def step_many(
        self, caches: list[tuple[np.ndarray, np.ndarray]], positions: list[int], tokens: list[int]
    ) -> np.ndarray:
        """The logits (batch x vocabulary) after each sequence's ``tokens[b]`` at ``positions[b]``,
        writing its key into ``caches[b][0]`` (layers x kv heads x head dim x positions, so that
        the scores are one strided product) and its value into ``caches[b][1]`` (layers x kv
        heads x positions x head dim). Every weight is read once for the whole batch."""
        q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        angles = np.asarray(positions, dtype=np.float32)[:, None] * self.inv_freq[None, :]
        angles = np.concatenate((angles, angles), axis=1)
        cos, sin = np.cos(angles) * self.rotary_scaling, np.sin(angles) * self.rotary_scaling
        hidden = self.embed[tokens]
        mixed = np.empty((len(tokens), q_size), dtype=np.float32)
        for index, (norm_in, qkv_weight, o_weight, norm_post, gate_up_weight, down_weight) in enumerate(self.layers):
            qkv = self._rms_norm(hidden, norm_in) @ qkv_weight.T
            for row, ((keys, values), position) in enumerate(zip(caches, positions)):
                query = self._rotate(qkv[row, :q_size].reshape(self.heads, self.head_dim), cos[row], sin[row])
                key = qkv[row, q_size : q_size + kv_size].reshape(self.kv_heads, self.head_dim)
                keys[index, :, :, position] = self._rotate(key, cos[row], sin[row])
                values[index, :, position] = qkv[row, q_size + kv_size :].reshape(self.kv_heads, self.head_dim)
                grouped = query.reshape(self.kv_heads, self.heads // self.kv_heads, self.head_dim)
                scores = np.matmul(grouped, keys[index, :, :, : position + 1]) * self.scale
                weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
                weights /= weights.sum(axis=-1, keepdims=True)
                mixed[row] = np.matmul(weights, values[index, :, : position + 1]).reshape(q_size)
            hidden = hidden + mixed @ o_weight.T
            gate, up = np.split(self._rms_norm(hidden, norm_post) @ gate_up_weight.T, 2, axis=1)
            hidden = hidden + (gate * 0.5 * (1 + np.tanh(0.5 * gate)) * up) @ down_weight.T  # SiLU, no overflow
        return self._rms_norm(hidden, self.final_norm) @ self.head.T


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A contiguous fp32 numpy view of ``tensor`` (no copy when it already is one)."""
    return tensor.detach().contiguous().numpy()


class StepBatcher:
    """One ``FusedLlama.step_many`` at a time over the steps that are waiting: a caller whose
    step arrives while another batch runs waits, and the first of the waiting callers to wake
    runs all of them as the next batch."""

    def __init__(self, fused: FusedLlama, compute: Any):
        self._fused, self._compute = fused, compute  # ``compute``: held by a batch and by a prefill
        self._changed = threading.Condition()
        self._waiting: list[_PendingStep] = []
        self._running = False
        self.batch_sizes: list[int] = []  # each batch's size, in order (for the benchmarks and tests)

    def step(self, keys: np.ndarray, values: np.ndarray, position: int, token: int) -> np.ndarray:
        mine = _PendingStep(keys, values, position, token)
        with self._changed:
            self._waiting.append(mine)
            while self._running and not mine.finished:
                self._changed.wait()
            if mine.finished:
                return mine.result()
            batch, self._waiting, self._running = self._waiting, [], True
        try:
            with self._compute:
                logits = self._fused.step_many(
                    [(p.keys, p.values) for p in batch], [p.position for p in batch], [p.token for p in batch]
                )
            outcomes = [(row, None) for row in logits]
        except BaseException as error:  # every caller of the batch gets the failure
            outcomes = [(None, error)] * len(batch)
        with self._changed:
            for pending, (row, error) in zip(batch, outcomes):
                pending.logits, pending.error, pending.finished = row, error, True
            self.batch_sizes.append(len(batch))
            self._running = False
            self._changed.notify_all()
        return mine.result()


class _PendingStep:
    def __init__(self, keys: np.ndarray, values: np.ndarray, position: int, token: int):
        self.keys, self.values, self.position, self.token = keys, values, position, token
        self.logits: np.ndarray | None = None
        self.error: BaseException | None = None
        self.finished = False

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.logits


class FusedSession:
    """Decoding with batched ``FusedLlama`` steps (``StepBatcher``) after a ``CacheSession`` prefill."""

    def __init__(self, batcher: StepBatcher, fused: FusedLlama, prefilled: CacheSession, capacity: int):
        self._batcher, self.length, self.logits = batcher, prefilled.length, prefilled.logits
        shape = (len(fused.layers), fused.kv_heads)
        self._keys = np.zeros((*shape, fused.head_dim, capacity), dtype=np.float32)
        self._values = np.zeros((*shape, capacity, fused.head_dim), dtype=np.float32)
        for index, layer in enumerate(prefilled.cache.layers):
            self._keys[index, :, :, : self.length] = layer.keys[0].transpose(1, 2).numpy()
            self._values[index, :, : self.length] = layer.values[0].numpy()

    def step(self, token: int) -> torch.Tensor:
        if self.length >= self._keys.shape[-1]:
            raise ValueError(f"the decode cache holds {self._keys.shape[-1]} positions; start with a larger capacity")
        self.logits = torch.from_numpy(self._batcher.step(self._keys, self._values, self.length, token))
        self.length += 1
        return self.logits

    def crop(self, length: int) -> None:
        """Forget the positions from ``length`` on (their slots are overwritten later)."""
        self.length = min(self.length, length)


class Decoder:
    """Decoding sessions over one loaded model: the fused step where ``supports_fused``, the
    model's own forward otherwise (or when ``fused=False``)."""

    def __init__(self, model: Any, *, fused: bool = True):
        self.model = model
        self._fused = FusedLlama(model) if fused and supports_fused(model) else None
        # One computation at a time: a prefill, a batched step or an unfused step (on 2 cores two
        # at once only slow each other down).
        self._forward = threading.Lock()
        self.batcher = StepBatcher(self._fused, self._forward) if self._fused is not None else None

    @property
    def is_fused(self) -> bool:
        return self._fused is not None

    def start(self, prompt_ids: list[int], capacity: int, *, keep_logits: int = 1) -> Session:
        """Prefill ``prompt_ids``, keeping the logits of the last ``keep_logits`` positions; the
        session can grow to ``capacity`` positions."""
        if capacity < len(prompt_ids):
            raise ValueError(f"capacity {capacity} is shorter than the prompt ({len(prompt_ids)} tokens)")
        with self._forward:
            prefilled = CacheSession(self.model, prompt_ids, keep_logits=keep_logits, lock=self._forward)
        return prefilled if self._fused is None else FusedSession(self.batcher, self._fused, prefilled, capacity)
