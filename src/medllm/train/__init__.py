"""Adapt a model to medicine and prove the change: LoRA SFT and DPO (transformers + peft + trl),
export to llama.cpp's GGUF adapter format, parity against transformers, and a paired before/after
check on held-back items. Entry point: `medllm.train.run.train_run` (`medllm train sft|dpo`)."""
