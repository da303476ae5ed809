"""The GGUF adapter writer, read back with the gguf library llama.cpp's own tools use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medllm.train.export import ExportError, gguf_architecture, lora_tensors, write_gguf_adapter


def test_peft_names_map_to_llama_cpp_tensors_and_round_trip(tmp_path: Path) -> None:
    import gguf

    a, b = np.ones((4, 16), np.float32), np.full((32, 4), 0.5, np.float32)
    state = {
        "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight": a,
        "base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight": b,
        "base_model.model.model.layers.3.mlp.down_proj.lora_A.weight": a,
        "base_model.model.model.layers.3.mlp.down_proj.lora_B.weight": b,
    }
    tensors = lora_tensors(state)
    assert sorted(tensors) == ["blk.3.attn_q.weight", "blk.3.ffn_down.weight"]
    path = write_gguf_adapter(tensors, tmp_path / "adapter.gguf", architecture="qwen2", alpha=16)
    r = gguf.GGUFReader(str(path))
    kv = {f.name: f for f in r.fields.values()}
    assert bytes(kv["general.type"].parts[-1]).decode() == "adapter"
    assert bytes(kv["adapter.type"].parts[-1]).decode() == "lora"
    assert float(kv["adapter.lora.alpha"].parts[-1][0]) == 16.0
    t = {x.name: x for x in r.tensors}
    # llama.cpp wants lora_a with ne = [in, rank] and lora_b with ne = [rank, out]
    assert list(t["blk.3.attn_q.weight.lora_a"].shape) == [16, 4]
    assert list(t["blk.3.attn_q.weight.lora_b"].shape) == [4, 32]


def test_incomplete_or_unsupported_adapters_are_refused() -> None:
    with pytest.raises(ExportError, match="lacks lora_B"):
        lora_tensors({"x.layers.0.self_attn.q_proj.lora_A.weight": np.ones((2, 2))})
    with pytest.raises(ExportError, match="no LoRA weights"):
        lora_tensors({"x.layers.0.self_attn.q_proj.weight": np.ones((2, 2))})
    with pytest.raises(ExportError, match="llama"):
        gguf_architecture("llama")
    assert gguf_architecture("gemma3_text") == "gemma3"
