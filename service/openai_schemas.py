"""Request and response models of the OpenAI-compatible routes (``service.routes.openai``).

Requests accept, and ignore, the OpenAI parameters this service has no use for (``temperature``,
``top_p``, ``user``, ...), so plain clients work unchanged; what the service adds travels in extra
fields: ``session_id`` and ``k`` on a chat request, ``rag`` (the grounding data) on its response."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from service.schemas import Citation, Passage, StoredText, Tokens

_LONG_TEXT = 100_000


LongText = Annotated[StoredText, Field(max_length=_LONG_TEXT)]


class _OpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_OpenAIRequest):
    type: Literal["text"] = "text"
    text: LongText


class ChatMessage(_OpenAIRequest):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: LongText | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text; the text parts of a list joined by newlines."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)
        return self.content or ""


class ChatCompletionRequest(_OpenAIRequest):
    model: StoredText = Field(max_length=300, description="`rag` or `rag/<collection>`; GET /v1/models lists them.")
    messages: list[ChatMessage] = Field(
        min_length=1, max_length=200, description="The last message is the question and must be the user's."
    )
    stream: StrictBool = Field(False, description="Stream `chat.completion.chunk` events ending with `data: [DONE]`.")
    max_tokens: int | None = Field(None, ge=1, le=1024, description="Cap on answer tokens (max_new_tokens).")
    max_completion_tokens: int | None = Field(None, ge=1, le=1024, description="The newer name of max_tokens.")
    n: Literal[1] = Field(1, description="One choice only.")
    session_id: StoredText | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Extra field: continue this session of your key (the log holds its turns, so earlier "
        "messages are then not read); unset = the earlier user messages are the previous turns.",
    )
    k: int | None = Field(None, ge=1, description="Extra field: passages to retrieve (default RAG_DEFAULT_K).")


class Grounding(BaseModel):
    """The ``rag`` extra field of a chat completion (and of the last chunk of a stream)."""

    citations: list[Citation]
    passages: list[Passage]
    log_id: int = Field(description="Read it back with GET /logs/{log_id}; rate it with POST /feedback.")
    refused: bool = Field(description="True when the passages did not hold the answer.")
    session_id: str = Field(description="Send it back as `session_id` to continue the session.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    rag: Grounding


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    rag: Grounding | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


EmbeddingText = Annotated[StoredText, Field(min_length=1, max_length=_LONG_TEXT)]
EmbeddingTexts = Annotated[list[EmbeddingText], Field(min_length=1, max_length=256)]


class EmbeddingRequest(_OpenAIRequest):
    model: StoredText = Field(max_length=300, description="`minilm`.")
    input: EmbeddingText | EmbeddingTexts = Field(description="A text or up to 256 texts.")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="`base64`: little-endian float32 bytes (what the openai client asks for)."
    )
    dimensions: int | None = Field(None, ge=1, description="Only the model's own (384) is possible.")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


def usage(tokens: Tokens) -> Usage:
    """OpenAI's usage from the answer's token counts (``AnswerResult.tokens``)."""
    return Usage(
        prompt_tokens=tokens.prompt, completion_tokens=tokens.completion, total_tokens=tokens.prompt + tokens.completion
    )
