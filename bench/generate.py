"""Decode speed of the generator beside the memory-bandwidth bound measured in the same run.

Decoding one token reads every weight once (and the KV cache), so on a CPU it is bounded by
memory bandwidth: bound tok/s = measured read bandwidth / bytes read per token. Each variant
prefills the same prompt, then decodes a fixed number of tokens greedily (ignoring end of turn,
so every variant does the same work) and reports tok/s, its bound, the share of the bound, and
whether its tokens are the fp32 tokens.

Variants: fp32 and bf16 through the transformers forward with a dynamic KV cache;
``models.decoding``'s fused fp32 step (``fp32-fused``, what serving and evaluation run); int8
dynamic quantization of the linear layers; a static KV cache with the decode step compiled by
``torch.compile`` (fp32, and bf16 where the CPU has native bf16).

    nice -n 10 .venv/bin/python -m bench.generate --tokens 48 --json

``--copy``: what copy decoding's constraint (``models.copy_constraint``) costs beside the fused
decode step, on 5 passages of README text: building it once, then each token's choice, against
each token's step, measured in the same run:

    nice -n 10 .venv/bin/python -m bench.generate --copy --tokens 32 --json

``--http``: ``/generate`` p50/p99 latency with 4 concurrent clients against ``rag serve`` on
127.0.0.1 over the configured data dir (see ``http_generate_latency``):

    nice -n 10 .venv/bin/python -m bench.generate --http --requests 24 --json
"""

import argparse
import copy
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.settings import Settings
from models.decoding import Decoder
from models.generator import ensure_base_model

PROMPT_FILE = Path(__file__).resolve().parent.parent / "README.md"


@dataclass
class Row:
    variant: str
    tok_s: float
    prefill_ms: float
    bytes_per_token: int
    bound_tok_s: float
    share_of_bound: float
    same_tokens_as_fp32: bool


def bf16_supported() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); without it bf16 is
    emulated and slower than fp32."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def read_bandwidth(gib: float = 0.5, repeats: int = 5) -> float:
    """Bytes per second a full reduction over a large tensor reads (best of ``repeats``)."""
    data = torch.ones(int(gib * (1 << 30)) // 4, dtype=torch.float32)
    data.sum()
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        data.sum()
        best = max(best, data.numel() * 4 / (time.perf_counter() - started))
    return best


def bytes_per_token(model: torch.nn.Module, kv_tokens: int) -> int:
    """Weights read to decode one token (embeddings: one row; everything else whole) plus the
    KV cache at ``kv_tokens`` positions."""
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            total += module.embedding_dim * module.weight.element_size()
        elif isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            total += module.in_features * module.out_features  # int8 weights
        elif isinstance(module, torch.nn.Linear):
            total += module.weight.numel() * module.weight.element_size()
        elif not list(module.children()):
            total += sum(p.numel() * p.element_size() for p in module.parameters(recurse=False))
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    element = 2 if next(model.parameters()).dtype == torch.bfloat16 else 4
    total += 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * kv_tokens * element
    return total


def decode_dynamic(model, input_ids, tokens: int) -> tuple[list[int], float, float]:
    """Greedy decode with a dynamic KV cache: (token ids, prefill seconds, decode seconds)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    with torch.inference_mode():
        started = time.perf_counter()
        logits = model(input_ids=input_ids, past_key_values=cache, use_cache=True).logits
        prefill = time.perf_counter() - started
        ids = [int(logits[0, -1].argmax())]
        started = time.perf_counter()
        for _ in range(tokens):
            logits = model(input_ids=torch.tensor([[ids[-1]]]), past_key_values=cache, use_cache=True).logits
            ids.append(int(logits[0, -1].argmax()))
    return ids, prefill, time.perf_counter() - started


def decode_fused(model, input_ids, tokens: int) -> tuple[list[int], float, float]:
    """Greedy decode through ``models.decoding.Decoder``, the serving loop: the model's
    forward prefills, the fused step decodes (fused weights built before the clock starts)."""
    decoder = Decoder(model)
    started = time.perf_counter()
    session = decoder.start(input_ids[0].tolist(), capacity=input_ids.shape[1] + tokens)
    prefill = time.perf_counter() - started
    ids = [int(session.logits.argmax())]
    started = time.perf_counter()
    for _ in range(tokens):
        ids.append(int(session.step(ids[-1]).argmax()))
    return ids, prefill, time.perf_counter() - started


def decode_static_compiled(model, input_ids, tokens: int) -> tuple[list[int], float, float]:
    """Greedy decode with a static KV cache and a compiled one-token step (compiled and
    warmed up on a first pass that is not timed)."""
    from transformers import StaticCache

    prompt_len = input_ids.shape[1]
    cache = StaticCache(config=model.config, max_cache_len=prompt_len + tokens + 1)
    step = torch.compile(model.forward, dynamic=False, fullgraph=True)

    def run() -> tuple[list[int], float, float]:
        with torch.inference_mode():
            cache.reset()
            started = time.perf_counter()
            positions = torch.arange(prompt_len)
            logits = model(input_ids=input_ids, past_key_values=cache, cache_position=positions, use_cache=True).logits
            prefill = time.perf_counter() - started
            ids = [int(logits[0, -1].argmax())]
            started = time.perf_counter()
            for position in range(prompt_len, prompt_len + tokens):
                logits = step(
                    input_ids=torch.tensor([[ids[-1]]]),
                    past_key_values=cache,
                    cache_position=torch.tensor([position]),
                    use_cache=True,
                ).logits
                ids.append(int(logits[0, -1].argmax()))
        return ids, prefill, time.perf_counter() - started

    run()
    return run()


def variants(base: torch.nn.Module) -> dict:
    """name -> (model builder, decode function); bf16 compiled only where bf16 is native."""

    def bf16():
        return copy.deepcopy(base).to(torch.bfloat16)

    def int8():
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(base), {torch.nn.Linear}, dtype=torch.qint8)

    chosen = {
        "fp32": (lambda: base, decode_dynamic),
        "fp32-fused": (lambda: base, decode_fused),
        "bf16": (bf16, decode_dynamic),
        "int8-dynamic": (int8, decode_dynamic),
        "fp32-static-compiled": (lambda: base, decode_static_compiled),
    }
    if bf16_supported():
        chosen["bf16-static-compiled"] = (bf16, decode_static_compiled)
    return chosen


# --- /generate latency over HTTP (the service's share of this benchmark) ---------------------

HTTP_QUESTIONS = [
    "How does hybrid search combine keyword and vector results?",
    "What does reciprocal rank fusion do?",
    "Where are the embeddings stored?",
    "What happens when the passages do not contain the answer?",
]


def _rag_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cli.main import main; main()", *args]


def _start_rag_serve(port: int):
    """``rag serve`` on 127.0.0.1:``port`` (rate limit lifted), once ``/health`` answers."""
    import subprocess

    import httpx

    env = {**os.environ, "RAG_RATE_LIMIT_PER_MINUTE": "100000"}
    server = subprocess.Popen(
        _rag_command("serve", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"rag serve exited with {server.returncode}:\n{server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("rag serve did not answer /health within 600 s")


def _summary(latencies, wall: float) -> dict:
    import numpy as np

    return {
        "requests": len(latencies),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "mean_ms": round(float(np.mean(latencies)), 1),
        "requests_per_s": round(len(latencies) / wall, 3),
    }


def http_generate_latency(*, clients: int = 4, requests: int = 24, max_new_tokens: int = 32) -> dict:
    """p50/p99/mean latency (ms) and throughput of ``requests`` /generate calls (after one
    warm-up) sent by ``clients`` concurrent clients to a ``rag serve`` started on 127.0.0.1 for
    the run, beside the baseline of one client alone (a quarter as many requests) in the same
    run; the user key is created through the CLI for the run and revoked after."""
    import socket
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    created = subprocess.run(
        _rag_command("keys", "create", "--role", "user", "--name", "bench-http", "--json"),
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _start_rag_serve(port)
    try:
        headers = {"Authorization": f"Bearer {key['key']}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:

            def one(i: int) -> float:
                started = time.perf_counter()
                body = {"query": HTTP_QUESTIONS[i % len(HTTP_QUESTIONS)], "max_new_tokens": max_new_tokens}
                client.post("/generate", json=body).raise_for_status()
                return (time.perf_counter() - started) * 1000

            def run(concurrency: int, count: int) -> dict:
                started = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    latencies = list(pool.map(one, range(count)))
                return _summary(latencies, time.perf_counter() - started)

            one(0)
            baseline = run(1, max(2, requests // 4))
            loaded = run(clients, requests)
    finally:
        server.terminate()
        server.wait(timeout=60)
        subprocess.run(_rag_command("keys", "revoke", str(key["id"])), capture_output=True, check=True)
    return {
        "max_new_tokens": max_new_tokens,
        "one_client": baseline,
        f"{clients}_clients": loaded,
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]},
    }


# --- end of /generate latency over HTTP -------------------------------------------------------


def copy_constraint_cost(settings: Settings, tokens: int, passage_chars: int = 1200) -> dict:
    """Milliseconds to build the copy constraint over 5 passages, per token to choose under it,
    and per token of the fused decode step it steers; the share the constraint adds."""
    from models.cite_constraint import MarkerBook
    from models.copy_constraint import CopyConstraint, word_start_tokens
    from models.generator import end_of_turn_ids, load_model
    from models.prompt import render_prompt

    model, tokenizer = load_model(settings, ensure_base_model(settings))
    text = " ".join(PROMPT_FILE.read_text().split())
    passages = [text[i * passage_chars : (i + 1) * passage_chars] for i in range(5)]
    prompt_ids = tokenizer(
        render_prompt("What does the service log?", passages, tokenizer), add_special_tokens=False
    ).input_ids
    book, word_starts = MarkerBook(tokenizer), word_start_tokens(tokenizer)
    session = Decoder(model).start(prompt_ids, capacity=len(prompt_ids) + tokens)
    started = time.perf_counter()
    constraint = CopyConstraint(
        tokenizer, book, word_starts, passages, end_of_turn_ids(tokenizer), max_new_tokens=tokens
    )
    build = time.perf_counter() - started
    logits, ids, choosing, stepping = session.logits, [], 0.0, 0.0
    while len(ids) < tokens - 1:
        started = time.perf_counter()
        token = constraint.next_token(ids, logits)
        choosing += time.perf_counter() - started
        if token is None:
            break
        ids.append(token)
        started = time.perf_counter()
        logits = session.step(token)
        stepping += time.perf_counter() - started
    n = max(1, len(ids))
    return {
        "passages": len(passages),
        "spans": int(constraint.span_count),
        "tokens": len(ids),
        "build_ms": round(build * 1000, 2),
        "choose_ms_per_token": round(choosing * 1000 / n, 3),
        "step_ms_per_token": round(stepping * 1000 / n, 2),
        "constraint_share_of_decode": round((build + choosing) / stepping, 4) if stepping else None,
        "answer": tokenizer.decode(ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=48, help="tokens decoded per variant")
    parser.add_argument("--prompt-chars", type=int, default=1200, help="prompt length (README text)")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--http", action="store_true", help="measure /generate latency over HTTP instead")
    parser.add_argument("--copy", action="store_true", help="measure the copy constraint against the decode step")
    parser.add_argument("--clients", type=int, default=4, help="--http: concurrent clients")
    parser.add_argument("--requests", type=int, default=24, help="--http: requests after one warm-up")
    args = parser.parse_args()
    if args.copy:
        print(json.dumps(copy_constraint_cost(Settings(), args.tokens), indent=None if args.json else 2))
        return
    if args.http:
        report = http_generate_latency(clients=args.clients, requests=args.requests, max_new_tokens=args.tokens)
        print(json.dumps(report) if args.json else json.dumps(report, indent=2))
        return

    from transformers import AutoModelForCausalLM, AutoTokenizer

    settings = Settings()
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    artifact = ensure_base_model(settings)
    tokenizer = AutoTokenizer.from_pretrained(artifact.path)
    base = AutoModelForCausalLM.from_pretrained(artifact.path, dtype=torch.float32).eval()
    text = PROMPT_FILE.read_text()[: args.prompt_chars]
    input_ids = tokenizer(text + "\nIn one sentence:", return_tensors="pt").input_ids

    bandwidth = read_bandwidth()
    reference = None
    rows = []
    for name, (build, decode) in variants(base).items():
        if args.only and name not in args.only:
            continue
        model = build()
        ids, prefill, seconds = decode(model, input_ids, args.tokens)
        reference = reference or (ids if name == "fp32" else None)
        moved = bytes_per_token(model, input_ids.shape[1] + args.tokens // 2)
        tok_s = args.tokens / seconds
        bound = bandwidth / moved
        rows.append(
            Row(
                name,
                round(tok_s, 2),
                round(prefill * 1000, 1),
                moved,
                round(bound, 2),
                round(tok_s / bound, 3),
                reference is not None and ids == reference,
            )
        )
        print(
            f"{name:>22}: {tok_s:6.2f} tok/s  bound {bound:6.2f}  ({tok_s / bound:5.1%})", file=sys.stderr, flush=True
        )
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "bf16_native": bf16_supported(),
            "load_average": os.getloadavg()[0],
        },
        "read_bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "prompt_tokens": int(input_ids.shape[1]),
        "decoded_tokens": args.tokens,
        "rows": [asdict(row) for row in rows],
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
