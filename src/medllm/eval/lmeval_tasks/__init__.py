"""Local-data versions of lm-evaluation-harness tasks (see `medllm.eval.lmeval`).

Each YAML here holds only the keys that differ from lm-eval's own task YAML of the same name
(merged over it as lm-eval's `include` merges); `loaders.py` reads the local files into the
columns lm-eval's `doc_to_text` expects, so nothing is fetched from a hub.
"""
