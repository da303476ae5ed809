"""Back into the runtime: a trained LoRA adapter written as a llama.cpp GGUF adapter, and the
check that llama.cpp with that adapter scores like the transformers model it came from.

The GGUF adapter layout is llama.cpp's own (what its convert_lora_to_gguf.py writes): for each
adapted base tensor `blk.N.attn_q.weight`, two tensors `….lora_a` (rank × in) and `….lora_b`
(out × rank), with `general.type = adapter`, `adapter.type = lora` and `adapter.lora.alpha`;
llama.cpp scales by alpha / rank as peft does. The base stays the quantised GGUF the user already
has, so an adapter is a few MB.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medllm.atomic import atomic_write_json

# Hugging Face module names -> llama.cpp tensor names, for the architectures whose attention
# weights llama.cpp's converter stores unpermuted (so a LoRA delta maps across as it is).
_HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
SUPPORTED_ARCHS = ("qwen2", "qwen3", "gemma3", "gemma2")
_LORA_KEY = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.weight$")


class ExportError(ValueError):
    pass


def gguf_architecture(model_type: str) -> str:
    """The llama.cpp architecture name for a transformers `model_type`, if we can export it."""
    arch = {"gemma3_text": "gemma3"}.get(model_type, model_type)
    if arch not in SUPPORTED_ARCHS:
        raise ExportError(
            f"exporting LoRA adapters for {model_type!r} models is not supported (supported: "
            f"{', '.join(SUPPORTED_ARCHS)}); llama-family models store attention weights permuted "
            "in GGUF. Merge the adapter and convert the merged model with llama.cpp's converter instead"
        )
    return arch


def lora_tensors(state: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """peft adapter weights (`…layers.N.self_attn.q_proj.lora_A.weight`) -> GGUF base tensor name
    -> (A, B) as float32 arrays."""
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        m = _LORA_KEY.search(key)
        if not m:
            continue
        layer, module, ab = m.groups()
        if module not in _HF_TO_GGUF:
            raise ExportError(f"adapter tensor {key!r}: module {module!r} has no llama.cpp name")
        name = f"blk.{layer}.{_HF_TO_GGUF[module]}.weight"
        arr = value.detach().float().cpu().numpy() if hasattr(value, "detach") else np.asarray(value, np.float32)
        pairs.setdefault(name, {})[ab] = arr
    out = {}
    for name, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise ExportError(f"adapter for {name} lacks lora_{'B' if 'A' in ab else 'A'}")
        out[name] = (ab["A"], ab["B"])
    if not out:
        raise ExportError("the adapter holds no LoRA weights for attention or MLP projections")
    return out


def write_gguf_adapter(
    tensors: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, *, architecture: str, alpha: float
) -> Path:
    """Write LoRA pairs as a llama.cpp adapter file (f32; they are small)."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    w = gguf.GGUFWriter(str(tmp), architecture)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    for name, (a, b) in tensors.items():
        w.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        w.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path


def export_peft_adapter(peft_model: Any, path: Path) -> Path:
    """A peft model's (single, default) LoRA adapter -> GGUF adapter at `path`."""
    from peft import get_peft_model_state_dict

    cfg = peft_model.peft_config["default"]
    if getattr(cfg, "rank_pattern", None) or getattr(cfg, "alpha_pattern", None):
        raise ExportError("per-module ranks or alphas cannot be written as one GGUF adapter")
    arch = gguf_architecture(peft_model.base_model.model.config.model_type)
    return write_gguf_adapter(
        lora_tensors(get_peft_model_state_dict(peft_model)), path, architecture=arch, alpha=cfg.lora_alpha
    )


# -- parity: the exported adapter in llama.cpp vs the transformers model ------------------------

PARITY_PROMPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Question: Which vitamin deficiency causes scurvy?\nChoices:\nA. Vitamin A\nB. Vitamin B12\n"
     "C. Vitamin C\nD. Vitamin D\nAnswer:", (" A", " B", " C", " D")),
    ("Question: Which organ produces insulin?\nChoices:\nA. Liver\nB. Pancreas\nC. Kidney\n"
     "D. Spleen\nAnswer:", (" A", " B", " C", " D")),
    ("Question: Is aspirin an antiplatelet drug?\nAnswer:", (" yes", " no", " maybe")),
    ("Question: The first-line treatment of anaphylaxis is\nChoices:\nA. Oral antihistamine\n"
     "B. Intramuscular adrenaline\nC. Inhaled salbutamol\nD. Intravenous hydrocortisone\nAnswer:",
     (" A", " B", " C", " D")),
    ("A 60-year-old man has crushing chest pain for an hour. The most urgent step is", (" to",)),
)


@dataclass
class ParityReport:
    """How far llama.cpp (+adapter) is from transformers (+adapter), next to how far the two
    engines already differ on the base model alone (the quantisation error)."""

    prompts: int
    base_max_abs_logprob_diff: float
    tuned_max_abs_logprob_diff: float
    tuned_shift_max: float  # how far training moved the scores (transformers), to show it matters
    base_argmax_agree: float
    tuned_argmax_agree: float
    greedy_base_agree: float  # greedy continuations (8 tokens), same text in both engines
    greedy_tuned_agree: float
    tolerance: float
    passed: bool
    details: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        atomic_write_json(path, asdict(self))


def _hf_logprobs(model: Any, tok: Any, context: str, conts: tuple[str, ...]) -> list[float]:
    import torch

    out = []
    ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
    for c in conts:
        full = tok(context + c, add_special_tokens=False)["input_ids"]
        n_ctx = len(ctx_ids) if full[: len(ctx_ids)] == ctx_ids else len(full) - len(
            tok(c, add_special_tokens=False)["input_ids"])
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([full])).logits[0].float()
        lp = torch.log_softmax(logits, -1)
        out.append(float(sum(lp[i - 1, full[i]] for i in range(n_ctx, len(full)))))
    return out


def _hf_greedy(model: Any, tok: Any, prompt: str, n: int) -> str:
    import torch

    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=tok.eos_token_id)
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def check_parity(
    peft_model: Any,
    tokenizer: Any,
    base_gguf: Path,
    adapter_gguf: Path,
    *,
    prompts: tuple[tuple[str, tuple[str, ...]], ...] = PARITY_PROMPTS,
    n_threads: int = 0,
    greedy_tokens: int = 8,
) -> ParityReport:
    """Score fixed prompts in both engines, base and tuned. The tuned pair passes when its largest
    log-probability gap is within the base pair's gap (quantisation error) plus a small margin,
    and the option each engine prefers agrees as often as it does on the base model."""
    from medllm.models.llamacpp import LlamaCppModel

    def llama_scores(adapter: Path | None) -> tuple[list[list[float]], list[str]]:
        m = LlamaCppModel(base_gguf, "parity", n_ctx=1024, n_threads=n_threads, lora_path=adapter)
        try:
            scores = [[r.logprob for r in m.loglikelihood([(p, c) for c in conts])] for p, conts in prompts]
            from medllm.models.base import GenParams

            greedy = [m.complete(p, GenParams(max_tokens=greedy_tokens, temperature=0.0)).text for p, _ in prompts]
        finally:
            m.close()
        return scores, greedy

    peft_model.eval()
    hf_tuned = [_hf_logprobs(peft_model, tokenizer, p, c) for p, c in prompts]
    hf_tuned_greedy = [_hf_greedy(peft_model, tokenizer, p, greedy_tokens) for p, _ in prompts]
    with peft_model.disable_adapter():
        hf_base = [_hf_logprobs(peft_model, tokenizer, p, c) for p, c in prompts]
        hf_base_greedy = [_hf_greedy(peft_model, tokenizer, p, greedy_tokens) for p, _ in prompts]
    ll_base, ll_base_greedy = llama_scores(None)
    ll_tuned, ll_tuned_greedy = llama_scores(adapter_gguf)

    def max_gap(a: list[list[float]], b: list[list[float]]) -> float:
        return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))

    def argmax_agree(a: list[list[float]], b: list[list[float]]) -> float:
        multi = [(ra, rb) for ra, rb in zip(a, b) if len(ra) > 1]
        return sum(int(np.argmax(ra) == np.argmax(rb)) for ra, rb in multi) / max(len(multi), 1)

    def same(a: list[str], b: list[str]) -> float:
        return sum(x.strip() == y.strip() for x, y in zip(a, b)) / len(a)

    base_gap, tuned_gap = max_gap(hf_base, ll_base), max_gap(hf_tuned, ll_tuned)
    tolerance = max(2.0 * base_gap, base_gap + 0.05)
    base_agree, tuned_agree = argmax_agree(hf_base, ll_base), argmax_agree(hf_tuned, ll_tuned)
    details = [
        {"prompt": p[-60:], "continuations": list(c), "hf_base": hb, "llama_base": lb,
         "hf_tuned": ht, "llama_tuned": lt, "greedy_hf_tuned": gh, "greedy_llama_tuned": gl}
        for (p, c), hb, lb, ht, lt, gh, gl in zip(
            prompts, hf_base, ll_base, hf_tuned, ll_tuned, hf_tuned_greedy, ll_tuned_greedy)
    ]
    return ParityReport(
        prompts=len(prompts),
        base_max_abs_logprob_diff=base_gap,
        tuned_max_abs_logprob_diff=tuned_gap,
        tuned_shift_max=max_gap(hf_base, hf_tuned),
        base_argmax_agree=base_agree,
        tuned_argmax_agree=tuned_agree,
        greedy_base_agree=same(hf_base_greedy, ll_base_greedy),
        greedy_tuned_agree=same(hf_tuned_greedy, ll_tuned_greedy),
        tolerance=tolerance,
        passed=bool(tuned_gap <= tolerance and tuned_agree >= base_agree and not math.isnan(tuned_gap)),
        details=details,
    )
