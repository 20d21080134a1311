"""Decode speed of the generator beside the memory-bandwidth bound measured in the same run.

Decoding one token reads every weight once (and the KV cache), so on a CPU it is bounded by
memory bandwidth: bound tok/s = measured read bandwidth / bytes read per token. Each variant
prefills the same prompt, then decodes a fixed number of tokens greedily (ignoring end of turn,
so every variant does the same work) and reports tok/s, its bound, the share of the bound, and
whether its tokens are the fp32 tokens.

Variants: fp32 and bf16 through the transformers forward with a dynamic KV cache;
``models.decoding``'s fused fp32 step (``fp32-fused``, what serving and evaluation run); int8
dynamic quantization of the linear layers; a static KV cache with the decode step compiled by
``torch.compile`` (fp32, and bf16 where the CPU has native bf16). Beside them, in the same run,
llama.cpp's single-stream decode on the shipped GGUF file (``bench.generate_llama``).

    nice -n 10 .venv/bin/python -m bench.generate --tokens 48 --json

``--copy``: what copy decoding's constraint (``models.copy_constraint``) costs beside the fused
decode step, on 5 passages of README text: building it once, then each token's choice, against
each token's step, measured in the same run:

    nice -n 10 .venv/bin/python -m bench.generate --copy --tokens 32 --json

``--http``: ``/generate`` requests/s and p50/p99 latency at 1, 4 and 8 concurrent clients
against ``rag serve`` on 127.0.0.1 over the configured data dir, with the ratios against one
client (see ``bench.generate_http``):

    nice -n 10 .venv/bin/python -m bench.generate --http --clients 1 4 8 --requests 24 --json
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

from bench.generate_copy import copy_constraint_cost
from bench.generate_http import http_generate_latency
from bench.generate_llama import llama_cpp_decode
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


def variant_rows(base: torch.nn.Module, input_ids, tokens: int, bandwidth: float, only: list[str] | None) -> list[Row]:
    """Decode ``tokens`` with each variant (those named in ``only``, else all), each row also
    printed to stderr as it is measured."""
    reference = None
    rows = []
    for name, (build, decode) in variants(base).items():
        if only and name not in only:
            continue
        model = build()
        ids, prefill, seconds = decode(model, input_ids, tokens)
        reference = reference or (ids if name == "fp32" else None)
        moved = bytes_per_token(model, input_ids.shape[1] + tokens // 2)
        tok_s = tokens / seconds
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
    return rows


def decode_speed(tokens: int, prompt_chars: int, only: list[str] | None) -> dict:
    """The variants' rows beside the read bandwidth, on a prompt of ``prompt_chars`` of README text."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    settings = Settings()
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    artifact = ensure_base_model(settings)
    tokenizer = AutoTokenizer.from_pretrained(artifact.path)
    base = AutoModelForCausalLM.from_pretrained(artifact.path, dtype=torch.float32).eval()
    text = PROMPT_FILE.read_text()[:prompt_chars]
    input_ids = tokenizer(text + "\nIn one sentence:", return_tensors="pt").input_ids

    bandwidth = read_bandwidth()
    rows = variant_rows(base, input_ids, tokens, bandwidth, only)
    llama_cpp = llama_cpp_decode(text + "\nIn one sentence:", tokens, torch.get_num_threads())
    if llama_cpp:
        print(f"{'llama.cpp (GGUF)':>22}: {llama_cpp['tok_s']:6.2f} tok/s", file=sys.stderr, flush=True)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "bf16_native": bf16_supported(),
            "load_average": os.getloadavg()[0],
        },
        "read_bandwidth_gb_s": round(bandwidth / 1e9, 2),
        "prompt_tokens": int(input_ids.shape[1]),
        "decoded_tokens": tokens,
        "rows": [asdict(row) for row in rows],
        "llama_cpp": llama_cpp,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=48, help="tokens decoded per variant")
    parser.add_argument("--prompt-chars", type=int, default=1200, help="prompt length (README text)")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--http", action="store_true", help="measure /generate latency over HTTP instead")
    parser.add_argument("--copy", action="store_true", help="measure the copy constraint against the decode step")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4, 8], help="--http: concurrent clients, one run each"
    )
    parser.add_argument("--requests", type=int, default=24, help="--http: requests per run, after one warm-up")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.copy:
        print(json.dumps(copy_constraint_cost(Settings(), PROMPT_FILE, args.tokens), indent=None if args.json else 2))
        return
    if args.http:
        report = http_generate_latency(clients=args.clients, requests=args.requests, max_new_tokens=args.tokens)
    else:
        report = decode_speed(args.tokens, args.prompt_chars, args.only)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
