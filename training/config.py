"""The configuration that makes a fine-tuned model; saved beside its weights (and in the
registry) so the model can be rebuilt and compared."""

from dataclasses import asdict, dataclass, fields
from typing import Any

from core.errors import InputError
from evaluation.synthetic import excludes_synthetic

METHODS = ("freeze", "lora")
PRECISIONS = ("auto", "float32", "bfloat16")
BUDGET_FIELDS = ("max_steps", "max_minutes", "checkpoint_every", "dev_limit")
ADDED_FIELDS = ("synthetic", "precision")  # fields that came after runs were made (see ``folder_identity``)


@dataclass(frozen=True)
class FinetuneConfig:
    method: str = "freeze"  # freeze: train the top blocks; lora: adapters on every block
    freeze_layers: int = 20  # freeze: the embeddings and the lower N of SmolLM2's 30 blocks stay fixed
    lora_rank: int = 16
    lora_alpha: int = 32
    lr: float = 2e-4
    warmup_steps: int = 10
    batch_size: int = 4
    max_steps: int = 480
    max_minutes: float = 60.0  # the run also stops here; the schedule follows whichever comes first
    max_seq_len: int = 512
    curriculum: float = 0.35  # share of the steps that see the gold passage alone
    checkpoint_every: int = 40
    dev_limit: int = 60  # dev records answered after training for the dev metrics
    seed: int = 0
    synthetic: str = "include"  # exclude: train.jsonl's records marked synthetic are left out
    precision: str = "auto"  # auto: bfloat16 autocast where the CPU has AMX, else float32 (``training.train``)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown --method {self.method!r}; expected one of: {', '.join(METHODS)}.")
        excludes_synthetic(self.synthetic)  # raises on anything but include or exclude
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown --precision {self.precision!r}; expected one of: {', '.join(PRECISIONS)}.")
        if not 0 <= self.curriculum < 1:
            raise InputError(f"curriculum {self.curriculum} is out of range; expected 0 <= x < 1.")
        if self.max_minutes <= 0:
            raise InputError(f"--max-minutes {self.max_minutes} must be positive.")
        for name in ("batch_size", "max_steps", "max_seq_len", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} {getattr(self, name)} must be at least 1.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run: everything but the budget, so a rerun with a
        longer or shorter budget resumes the checkpoint (the schedule follows the new one)."""
        return {k: v for k, v in asdict(self).items() if k not in BUDGET_FIELDS}

    def folder_identity(self) -> dict[str, Any]:
        """``identity`` without the added fields that hold their default, so the work folder
        named after it stays the one a run made before those fields existed wrote to."""
        defaults = FinetuneConfig()
        return {k: v for k, v in self.identity().items() if k not in ADDED_FIELDS or v != getattr(defaults, k)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FinetuneConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
