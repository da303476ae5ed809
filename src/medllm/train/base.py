"""The model to adapt, opened for training: a packaged GGUF (transformers de-quantises it), any
GGUF file, or a local transformers folder; and the GGUF the runtime will serve it from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medllm.config import Settings
from medllm.models.registry import PACKAGED, resolve_gguf


class BaseModelError(ValueError):
    pass


@dataclass
class TrainBase:
    model: Any  # transformers causal LM (float32 master weights)
    tokenizer: Any
    gguf: Path | None  # what llama.cpp loads for export checks and evaluation
    name: str

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """Chat turns as prompt text in the model's own template, ending where the reply starts."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise BaseModelError(
                f"{self.name} has no chat template; chat-format data needs an instruct model"
            )
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def locate(base: str, base_gguf: str | None, settings: Settings) -> tuple[Path | None, Path | None]:
    """(transformers folder or None, GGUF file or None) for a recipe's `base`."""
    assert settings.models_dir is not None
    p = Path(base).expanduser()
    if base in PACKAGED or base.lower().endswith(".gguf"):
        return None, resolve_gguf(base, settings.models_dir)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise BaseModelError(f"base {p} is a folder without config.json; give a transformers checkpoint")
        gguf = resolve_gguf(base_gguf, settings.models_dir) if base_gguf else None
        return p, gguf
    raise BaseModelError(
        f"base {base!r}: not a packaged model ({', '.join(PACKAGED)}), a .gguf file or a transformers folder"
    )


def open_base(base: str, base_gguf: str | None, settings: Settings) -> TrainBase:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()  # trl's per-step dataset maps; the run has its own bar
    folder, gguf = locate(base, base_gguf, settings)
    if folder is not None:
        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    else:
        assert gguf is not None
        try:
            tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        except (ValueError, KeyError) as e:
            raise BaseModelError(f"transformers cannot read {gguf} for training: {e}") from None
        # The weights are de-quantised to float32 on load; what stays is a "quantised" flag that
        # makes the Trainer refuse to train. The GGUF is only the source here.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return TrainBase(model, tok, gguf, Path(base).name.removesuffix(".gguf"))
