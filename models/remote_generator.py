"""A generator on any OpenAI-compatible server (``RAG_GENERATOR_URL``: vLLM, llama.cpp's server,
Ollama, another ``rag serve``), behind the ``Generator`` Protocol, under the answer policy as far
as a remote engine allows.

- The prompt is the same template: ``ChatMLTemplate`` renders ``models.prompt``'s messages as
  SmolLM2's own chat template does (ChatML), so the logged prompt reads as the in-process one,
  and ``generate`` parses it back into the messages it sends to ``/chat/completions``
  (temperature 0, ``max_tokens`` the budget, streamed).
- The engine cannot be constrained, so citations are checked and repaired as the text streams
  (``CitationRepair``): a marker naming a passage that was not given is dropped before it is
  shown, and an answer with no valid marker, when the policy cites (copy decoding, or free
  decoding with ``force_citations``), gets the marker of its best-supported passage (the first
  that holds it as text, else the one sharing the most words with it) as a last piece. A
  refusal is left bare; ``answering.answer`` recognises it (``is_refusal``) and shows exactly ``REFUSAL``.
- The engine gives no refusal score: ``refusal_score`` is None and ``refusal_threshold`` cannot
  decide; the engine's own refusal sentence is the model's refusal. Copy decoding's span of a
  passage cannot be enforced either, only its citation.
- Token counts are the server's (``usage``, asked for with ``stream_options``) once the stream
  ends; before that, or from a server that reports none, the prompt counts 4 characters a token
  and the completion one token a streamed chunk.

The registry row of a remote model (``register_remote``): kind ``remote``, name the server's
model name, path the base URL, sha256 a hash of both."""

import hashlib
import re
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from core.errors import ConfigError
from core.settings import Settings
from models.cite_constraint import passages_holding
from models.generator import TokenStream
from models.policy import AnswerPolicy
from models.prompt import is_refusal, parse_citations
from models.registry import ModelRecord, get_model, list_models, register_model

KIND = "remote"
CHARS_PER_TOKEN = 4  # the estimate of a prompt's tokens until the server reports its count
TIMEOUT_SECONDS = 300.0
_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>\n", re.DOTALL)
_OPEN_MARKER = re.compile(r"\[[\d\s,]*$")  # a marker that may still be closing
_WORD = re.compile(r"\w+")


class ChatMLTemplate:
    """SmolLM2's chat template (ChatML) for the prompt text, and its inverse for the request."""

    def apply_chat_template(self, messages: list[dict], tokenize: bool = False, add_generation_prompt: bool = True):
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def messages(self, prompt: str) -> list[dict]:
        """The messages a prompt rendered by ``apply_chat_template`` holds."""
        found = [{"role": role, "content": content} for role, content in _TURN.findall(prompt)]
        if not found:
            raise ConfigError("the prompt is not in the chat template of models.remote_generator; render it with it.")
        return found


@dataclass
class _Usage:
    prompt_tokens: int  # the estimate until the server reports
    completion_tokens: int = 0  # streamed chunks until the server reports

    def reported(self, usage: Any) -> None:
        self.prompt_tokens, self.completion_tokens = usage.prompt_tokens, usage.completion_tokens


class RemoteStream(TokenStream):
    """A ``TokenStream`` over text pieces instead of token ids: the pieces are already text, and
    the counts come from the server (``_Usage``)."""

    def __init__(self, pieces: PyGenerator[str, None, None], usage: _Usage):
        self._pieces, self._usage = pieces, usage
        self.text = ""
        self.refusal_score = None

    @property
    def prompt_tokens(self) -> int:
        return self._usage.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self._usage.completion_tokens

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self.text += piece
            yield piece

    def close(self) -> None:
        self._pieces.close()


def best_supported(answer: str, passages: list[str]) -> int:
    """The number of the first passage that holds ``answer`` as text, else of the one sharing the
    most words with it (the first on a tie)."""
    holding = passages_holding(answer, passages)
    if holding:
        return holding[0]
    words = set(_WORD.findall(answer.lower()))
    overlaps = [len(words & set(_WORD.findall(passage.lower()))) for passage in passages]
    return overlaps.index(max(overlaps)) + 1


class CitationRepair:
    """Streamed text in, the text to show out: a possible marker is held until it closes, then
    dropped if it names a passage that was not given; ``finish`` adds the best-supported
    passage's marker to an answer without a valid one when ``force`` is set."""

    def __init__(self, passages: list[str], force: bool):
        self._passages, self._force = passages, force and bool(passages)
        self._pending = ""
        self._shown = ""
        self._cited = False

    def feed(self, text: str) -> list[str]:
        self._pending += text
        held = _OPEN_MARKER.search(self._pending)
        cut = held.start() if held else len(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._show(ready)

    def finish(self) -> list[str]:
        pieces = self._show(self._pending)
        self._pending = ""
        if self._force and not self._cited and self._shown.strip() and not is_refusal(self._shown):
            pieces.append(f" [{best_supported(self._shown, self._passages)}]")
        return pieces

    def _show(self, text: str) -> list[str]:
        parsed = parse_citations(text, len(self._passages))
        for marker in parsed.invalid:
            text = text.replace(marker, "")
        self._cited = self._cited or bool(parsed.valid)
        self._shown += text
        return [text] if text else []


class RemoteGenerator:
    """Answers through ``client`` (an ``openai.OpenAI``) from the server's ``model``."""

    def __init__(self, client: Any, model: str):
        self._client, self.model = client, model
        self.tokenizer = ChatMLTemplate()

    def generate(
        self, prompt: str, passages: list[str], policy: AnswerPolicy, max_new_tokens: int | None = None
    ) -> TokenStream:
        usage = _Usage(prompt_tokens=max(1, len(prompt) // CHARS_PER_TOKEN))
        repair = CitationRepair(passages, force=policy.decoding == "copy" or policy.force_citations)
        budget = max_new_tokens or policy.max_new_tokens
        return RemoteStream(self._pieces(self.tokenizer.messages(prompt), budget, repair, usage), usage)

    def _pieces(
        self, messages: list[dict], budget: int, repair: CitationRepair, usage: _Usage
    ) -> PyGenerator[str, None, None]:
        response = self._client.chat.completions.create(
            model=self.model,
            messages=messages,
            max_tokens=budget,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        try:
            for chunk in response:
                if chunk.usage is not None:
                    usage.reported(chunk.usage)
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        usage.completion_tokens += 1
                        yield from repair.feed(choice.delta.content)
            yield from repair.finish()
        finally:
            response.close()


def openai_client(url: str, api_key: str | None) -> Any:
    """The official client on ``url`` (a placeholder key where the server needs none)."""
    import openai

    return openai.OpenAI(base_url=url, api_key=api_key or "unused", timeout=TIMEOUT_SECONDS)


def remote_identity(settings: Settings) -> tuple[str, str]:
    """The generator server's base URL and model name, from the settings."""
    if not settings.generator_model:
        raise ConfigError("RAG_GENERATOR_URL is set but RAG_GENERATOR_MODEL is not; name the server's model.")
    return settings.generator_url.rstrip("/"), settings.generator_model


def remote_sha256(settings: Settings) -> str:
    """What the registry row's sha256 holds for a remote model: a hash of its URL and name."""
    url, model = remote_identity(settings)
    return hashlib.sha256(f"{url}\n{model}".encode()).hexdigest()


def register_remote(conn: psycopg.Connection, settings: Settings) -> ModelRecord:
    """The remote model's registry row, registered the first time this URL and name are seen."""
    sha256 = remote_sha256(settings)
    found = [m for m in list_models(conn) if m.kind == KIND and m.sha256 == sha256]
    if found:
        return found[0]
    url, model = remote_identity(settings)
    return get_model(conn, register_model(conn, name=model, kind=KIND, path=url, sha256=sha256, config={"url": url}))


def load_remote_generator(settings: Settings) -> RemoteGenerator:
    """The generator on ``RAG_GENERATOR_URL`` (``RAG_GENERATOR_MODEL``, ``RAG_GENERATOR_API_KEY``)."""
    url, model = remote_identity(settings)
    return RemoteGenerator(openai_client(url, settings.generator_api_key), model)
