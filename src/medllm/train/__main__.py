"""`python -m medllm.train RECIPE.toml [--out DIR]`: the same run as `medllm train`, for launchers.

On GPUs: `accelerate launch -m medllm.train RECIPE.toml --out DIR` (the trainer is
transformers' Trainer, which takes its devices and processes from accelerate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medllm.session import Session
from medllm.train.recipe import load_recipe
from medllm.train.run import train_run


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m medllm.train", description=__doc__)
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    run = train_run(load_recipe(args.recipe), Session.configure().settings, out_dir=args.out)
    print(f"finished: {run.out_dir}")


if __name__ == "__main__":
    main()
