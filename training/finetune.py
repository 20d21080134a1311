"""One fine-tuning run end to end: load the base, train (resuming from the work folder's
checkpoint), answer the dev records, save the artifact with everything that made it, and
register it as a candidate."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.db import connection
from core.errors import InputError
from core.settings import Settings
from evaluation.dev_metrics import choose_decoding
from evaluation.synthetic import select_records
from models.artifact import ModelArtifact, file_sha256, weights_sha256
from models.embedder import Embedder, load_embedder
from models.generator import HFGenerator, ensure_base_model
from models.policy import AnswerPolicy, default_policy
from models.registry import register_base, register_model
from training.config import FinetuneConfig
from training.train import resolved_precision, train

RUN_FILE = "finetune.json"


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(
            f"{path} does not exist; build it with `rag data build-qa --out DIR` and pass DIR/train.jsonl."
        )
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def training_records(path: Path, synthetic: str) -> tuple[list[dict], int]:
    """train.jsonl's records as ``synthetic`` (include or exclude) selects them, and how many
    synthetic records it left out."""
    records = read_jsonl(path)
    kept = select_records(records, synthetic)
    if not kept:
        raise InputError(
            f"{path} holds no record to train on ({len(records)} records, --synthetic {synthetic}); "
            "build it with `rag data build-qa`, or pass --synthetic include."
        )
    return kept, len(records) - len(kept)


def default_out_dir(settings: Settings, config: FinetuneConfig, train_sha256: str) -> Path:
    """Same config (budget aside) and data, same folder: a rerun finds its checkpoint there."""
    key = hashlib.sha256(json.dumps(config.folder_identity(), sort_keys=True).encode()).hexdigest()[:8]
    return settings.models_dir / f"ft-{config.method}-{key}-{train_sha256[:8]}"


def load_base(settings: Settings) -> tuple[Any, Any, ModelArtifact]:
    """The base generator to train (fp32), its tokenizer and its artifact, converted from the
    GGUF file on first use (``models.generator.ensure_base_model``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = ensure_base_model(settings)
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    # fp32 weights; where the CPU has AMX the steps run under bf16 autocast (``training.train``).
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(base.path), base


def _save(model: Any, tokenizer: Any, folder: Path, method: str) -> ModelArtifact:
    target = model if method == "lora" else (model.get_base_model() if hasattr(model, "get_base_model") else model)
    target.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return ModelArtifact(path=folder, sha256=weights_sha256(folder))


def _measure_on_dev(
    settings: Settings,
    model: Any,
    tokenizer: Any,
    dev: list[dict],
    config: FinetuneConfig,
    embedder: Embedder | None,
    progress: Callable,
) -> tuple[dict, AnswerPolicy, dict[str, dict]]:
    """The dev metrics of the trained model as it is served (a LoRA model merged), through the
    answer function, under the answer policy calibrated on dev (refusal threshold and decoding,
    ``choose_decoding``), with each decoding's metrics."""
    if config.method == "lora":
        model = model.merge_and_unload()
    return choose_decoding(
        HFGenerator(model.eval(), tokenizer),
        embedder or load_embedder(settings),
        dev,
        policy=default_policy(settings),
        limit=config.dev_limit,
        seed=config.seed,
        progress=progress,
    )


def _register(
    settings: Settings, summary: dict, name: str, method: str, artifact: ModelArtifact, base: ModelArtifact
) -> int:
    """Register the saved model (and its base) as a candidate with its run summary; its id."""
    with connection(settings) as conn:
        parent = register_base(conn, base)
        model_id = register_model(
            conn,
            name=name,
            kind="adapter" if method == "lora" else "full",
            path=artifact.path,
            sha256=artifact.sha256,
            parent_id=parent.id,
            metrics=summary["dev_metrics"],
            config={k: v for k, v in summary.items() if k != "losses"},
            policy=summary["policy"],
        )
        conn.commit()
    return model_id


def run_finetune(
    settings: Settings,
    train_path: Path,
    dev_path: Path,
    config: FinetuneConfig,
    out_dir: Path | None = None,
    *,
    loaded: tuple[Any, Any, ModelArtifact] | None = None,
    embedder: Embedder | None = None,
    on_step: Callable[[int, float, float], None] = lambda step, loss, progress: None,
    progress: Callable = lambda xs: xs,
) -> dict:
    """Train the base generator (or ``loaded``: a model, its tokenizer and the artifact it was
    loaded from), calibrate its answer policy and measure it on dev (``choose_decoding``, through
    the answer function serving uses), save and register; returns the run summary (also saved
    as ``finetune.json`` in the artifact folder). ``loaded`` and ``embedder`` (MiniLM, for the
    gate) replace the real models (tests; the CLI leaves them out)."""
    model, tokenizer, base = load_base(settings) if loaded is None else loaded
    records, dropped = training_records(train_path, config.synthetic)
    dev = read_jsonl(dev_path)
    train_sha256 = file_sha256(train_path)
    out_dir = out_dir or default_out_dir(settings, config, train_sha256)
    model, state = train(model, tokenizer, records, config, out_dir, on_step=on_step)
    artifact = _save(model, tokenizer, out_dir / "model", config.method)
    metrics, policy, by_decoding = _measure_on_dev(settings, model, tokenizer, dev, config, embedder, progress)
    summary = {
        "config": config.to_dict(),
        "train_data": {
            "path": str(train_path),
            "sha256": train_sha256,
            "records": len(records),
            "synthetic_dropped": dropped,
        },
        "dev_data": {"path": str(dev_path), "sha256": file_sha256(dev_path)},
        "base": {"path": str(base.path), "sha256": base.sha256},
        "sha256": artifact.sha256,
        "precision": resolved_precision(config),
        "train_minutes": round(state.minutes, 1),
        "steps": len(state.losses),
        "losses": state.losses,
        "dev_metrics": metrics,
        "dev_metrics_by_decoding": by_decoding,
        "policy": policy.to_dict(),
    }
    (artifact.path / RUN_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    summary["model_id"] = _register(settings, summary, out_dir.name, config.method, artifact, base)
    return summary
