"""A training recipe: one TOML file, every setting named, checked before any work starts.

    kind = "sft"                     # or "dpo"
    base = "qwen2.5-coder-0.5b-instruct"   # packaged name, a .gguf file, or a transformers folder
    data = "medmcqa:../shared/data/medmcqa/dev_a.jsonl"
    data_limit = 500
    eval = "medmcqa:../shared/data/medmcqa/dev_a.jsonl"   # held back: never trained on
    eval_limit = 300

    [lora]
    r = 8
    top_layers = 8                   # adapt the top 8 blocks only: backward stops there

    [train]
    epochs = 1
    lr = 2e-4

The same recipe runs on a GPU with `accelerate launch -m medllm.train RECIPE.toml --out DIR`.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RecipeError(ValueError):
    pass


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(8, ge=1, le=256)
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    top_layers: int = Field(8, ge=0, description="adapt only the top N blocks; 0 = all")


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(0, ge=0, description="stop after N optimiser steps; 0 = run the epochs")
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(2, ge=1)
    lr: float = Field(2e-4, gt=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    max_length: int = Field(320, ge=16, description="tokens per example; longer ones are cut")
    bf16: Literal["auto", "on", "off"] = "auto"
    save_steps: int = Field(20, ge=1, description="checkpoint every N steps (resume point)")
    logging_steps: int = Field(5, ge=1)
    beta: float = Field(0.1, gt=0, description="DPO: strength of the pull towards the base model")
    threads: int = Field(0, ge=0, description="CPU threads; 0 = all cores")


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["sft", "dpo"]
    base: str
    base_gguf: str | None = Field(None, description="the GGUF of a transformers-folder base, for export and eval")
    data: str
    data_limit: int | None = Field(None, ge=1)
    eval: str | None = None
    eval_limit: int | None = Field(200, ge=1)
    seed: int = 0
    lora: LoraSettings = LoraSettings()
    train: TrainSettings = TrainSettings()

    def identity(self) -> str:
        """What makes two runs the same run (a run folder resumes only into its own recipe)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:8]


def load_recipe(path: Path | None, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a recipe file (or none) and apply command-line overrides (`train.lr` style keys)."""
    raw: dict[str, Any] = {}
    where = str(path) if path else "command line"
    if path is not None:
        if not path.is_file():
            raise RecipeError(f"recipe file {path} does not exist")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise RecipeError(f"recipe {path} is not valid TOML: {e}") from None
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, name = key.rpartition(".")
        (raw.setdefault(section, {}) if section else raw)[name] = value
    try:
        return Recipe.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise RecipeError(f"recipe ({where}): {problems}. See `medllm train --help` for the fields") from None
