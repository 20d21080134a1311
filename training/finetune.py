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
from evaluation.dev_metrics import dev_metrics
from evaluation.synthetic import select_records
from models.artifact import ModelArtifact, file_sha256, weights_sha256
from models.embedder import Embedder, load_embedder
from models.generator import HFGenerator, ensure_base_model
from models.policy import default_policy
from models.registry import register_base, register_model
from training.config import FinetuneConfig
from training.train import train

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


def _load_base(settings: Settings, base: ModelArtifact) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    # fp32: this kind of CPU (no AVX-512 BF16) runs bf16 autocast several times slower.
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(base.path)


def _save(model: Any, tokenizer: Any, folder: Path, method: str) -> ModelArtifact:
    target = model if method == "lora" else (model.get_base_model() if hasattr(model, "get_base_model") else model)
    target.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return ModelArtifact(path=folder, sha256=weights_sha256(folder))


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
    loaded from), calibrate its answer policy and measure it on dev (``dev_metrics``, through
    the answer function serving uses), save and register; returns the run summary (also saved
    as ``finetune.json`` in the artifact folder). ``embedder`` replaces MiniLM for the gate."""
    if loaded is None:
        base = ensure_base_model(settings)
        loaded = (*_load_base(settings, base), base)
    model, tokenizer, base = loaded
    records, dropped = training_records(train_path, config.synthetic)
    dev = read_jsonl(dev_path)
    train_sha256 = file_sha256(train_path)
    out_dir = out_dir or default_out_dir(settings, config, train_sha256)
    model, state = train(model, tokenizer, records, config, out_dir, on_step=on_step)
    artifact = _save(model, tokenizer, out_dir / "model", config.method)
    if config.method == "lora":  # served merged (models.generator.load_model): measure it so
        model = model.merge_and_unload()
    metrics, policy = dev_metrics(
        HFGenerator(model.eval(), tokenizer),
        embedder or load_embedder(settings),
        dev,
        policy=default_policy(settings),
        limit=config.dev_limit,
        seed=config.seed,
        progress=progress,
    )
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
        "train_minutes": round(state.minutes, 1),
        "steps": len(state.losses),
        "losses": state.losses,
        "dev_metrics": metrics,
        "policy": policy.to_dict(),
    }
    (artifact.path / RUN_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    with connection(settings) as conn:
        parent = register_base(conn, base)
        summary["model_id"] = register_model(
            conn,
            name=out_dir.name,
            kind="adapter" if config.method == "lora" else "full",
            path=artifact.path,
            sha256=artifact.sha256,
            parent_id=parent.id,
            metrics=metrics,
            config={k: v for k, v in summary.items() if k != "losses"},
            policy=policy.to_dict(),
        )
        conn.commit()
    return summary
