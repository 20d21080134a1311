"""The token stream, the base model's conversion, and what only the real generator does: a LoRA
adapter on the base, and a copied answer that cites its passage. What every generator promises
(the stand-in too) is the shared suite in test_generator_contract.py."""

import json
import time

import pytest

from models.artifact import weights_sha256
from models.generator import TokenStream, base_gguf_path, ensure_base_model, load_generator
from models.policy import AnswerPolicy
from models.prompt import parse_citations, render_prompt, strip_markers


def _stream(pieces: list[str]) -> TokenStream:
    return TokenStream((i for i in range(len(pieces))), lambda ids: "".join(pieces[i] for i in ids), prompt_tokens=5)


def test_token_stream_yields_pieces_and_counts_tokens():
    tokens = _stream(["Pa", "ris", " [1]"])
    assert list(tokens) == ["Pa", "ris", " [1]"]
    assert (tokens.text, tokens.prompt_tokens, tokens.completion_tokens) == ("Paris [1]", 5, 3)


def test_token_stream_holds_back_a_split_character():
    decoded = ["caf", "caf\ufffd", "café"]  # "é" arrives over two byte tokens
    tokens = TokenStream((i for i in range(3)), lambda ids: decoded[len(ids) - 1], prompt_tokens=5)
    assert list(tokens) == ["caf", "é"] and tokens.text == "café"
    assert tokens.completion_tokens == 3


def test_token_stream_closed_early_keeps_what_was_produced():
    tokens = _stream(["a", "b", "c"])
    assert next(iter(tokens)) == "a"
    tokens.close()
    assert tokens.result().text == "a" and tokens.completion_tokens == 1


def test_weights_sha256_covers_weights_only(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    before = weights_sha256(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert weights_sha256(tmp_path) == before
    (tmp_path / "model.safetensors").write_bytes(b"other")
    assert weights_sha256(tmp_path) != before


def test_the_gguf_file_is_found_without_importing_its_package():
    assert base_gguf_path().suffix == ".gguf"


@pytest.mark.slow
def test_base_model_is_cached_as_safetensors_with_its_sha256(base_settings):
    started = time.perf_counter()
    artifact = ensure_base_model(base_settings)
    assert time.perf_counter() - started < 0.5
    names = {p.name for p in artifact.path.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "manifest.json"} <= names
    manifest = json.loads((artifact.path / "manifest.json").read_text())
    assert manifest["sha256"] == artifact.sha256 == weights_sha256(artifact.path)
    assert "quantization_config" not in json.loads((artifact.path / "config.json").read_text())


def _drained(stream):
    pieces = list(stream)
    return "".join(pieces), stream.result()


@pytest.mark.slow
def test_a_lora_adapter_loads_on_top_of_the_base(base_settings, base_generator, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = ensure_base_model(base_settings)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base.path), LoraConfig(r=2, target_modules=["q_proj"]))
    model.save_pretrained(tmp_path / "adapter")  # untrained: LoRA B is zero, so it answers as the base
    adapter = load_generator(base_settings, type(base)(tmp_path / "adapter", weights_sha256(tmp_path / "adapter")))
    passages = ["Hamlet is a play by Shakespeare."]
    prompt = render_prompt("Who wrote Hamlet?", passages, adapter.tokenizer)
    policy = AnswerPolicy(max_new_tokens=6)
    assert (
        _drained(adapter.generate(prompt, passages, policy))[0]
        == _drained(base_generator.generate(prompt, passages, policy))[0]
    )


@pytest.mark.slow
def test_the_base_model_cites_a_passage_it_copies_from(base_generator):
    passages = [
        "Hybrid search runs a keyword (BM25) search and a vector search, then fuses the two rankings "
        "with reciprocal rank fusion, so a document ranked high by either side comes out on top.",
        "HNSW is a graph index for approximate nearest neighbour search over vectors.",
    ]
    prompt = render_prompt(
        "How does hybrid search combine keyword and vector results?", passages, base_generator.tokenizer
    )
    text, _ = _drained(base_generator.generate(prompt, passages, AnswerPolicy()))
    cited = parse_citations(text, 2)
    assert cited.valid and not cited.invalid
    assert strip_markers(text) in " ".join(passages[cited.valid[0] - 1].split())
