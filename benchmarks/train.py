"""Train -> export -> check loops on the 0.5B, on 2 CPU cores, with the figures the closing note
needs: wall time, peak memory, training tokens/s, export parity, and the paired before/after
check on held-back items (never trained on; data.json in each run folder lists both sides).

    nice python benchmarks/train.py                    # SFT on MedMCQA, then DPO on safety pairs
    nice python benchmarks/train.py --only sft

Runs resume: a killed benchmark picks up where it stopped (same run folders).
On a GPU the same recipes run unchanged under accelerate:
    accelerate launch -m medllm.train benchmarks/recipes/sft_medmcqa_0.5b.toml --out runs/sft
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from medllm.session import Session
from medllm.train.recipe import load_recipe
from medllm.train.run import train_run

HERE = Path(__file__).parent
RECIPES = {"sft": HERE / "recipes" / "sft_medmcqa_0.5b.toml", "dpo": HERE / "recipes" / "dpo_safety_0.5b.toml"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=sorted(RECIPES), default=None)
    ap.add_argument("--out", type=Path, default=Path.home() / ".medllm" / "bench-train")
    ap.add_argument("--reply-check", type=int, default=90,
                    help="DPO on safety pairs: also compare greedy replies to N held-back messages (0 = off)")
    args = ap.parse_args()
    settings = Session.configure().settings
    rows = []
    for kind, path in RECIPES.items():
        if args.only and kind != args.only:
            continue
        recipe = load_recipe(path)
        start = time.perf_counter()
        run = train_run(recipe, settings, out_dir=args.out / f"{kind}-{recipe.identity()}",
                        say=lambda m: print("  " + m, flush=True),
                        reply_check_n=args.reply_check if kind == "dpo" else 0)
        total = time.perf_counter() - start
        rows.append((kind, recipe, run, total))

    print("\n| run | examples | train wall | tokens/s | peak RSS | loop wall | export check | held-back before → after | diff [95% CI] | McNemar p |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, recipe, run, total in rows:
        s, c, p = run.stats, run.comparison, run.parity
        parity = (f"{'pass' if p.passed else 'FAIL'} (max dlogp {p.tuned_max_abs_logprob_diff:.3f}, base {p.base_max_abs_logprob_diff:.3f})"
                  if p else "-")
        held = (f"{c.before:.1%} [{c.before_ci[0]:.1%},{c.before_ci[1]:.1%}] → {c.after:.1%} [{c.after_ci[0]:.1%},{c.after_ci[1]:.1%}] (n {c.n})"
                if c else "-")
        diff = f"{c.diff * 100:+.1f} [{c.diff_ci[0] * 100:+.1f}, {c.diff_ci[1] * 100:+.1f}]" if c else "-"
        print(f"| {kind} {Path(recipe.data.split(':', 1)[1]).name} | {s['examples']} | {s['wall_s'] / 60:.1f} min | "
              f"{s['tokens_per_s']:.0f} | {s['peak_rss_mb'] / 1024:.1f} GiB | {total / 60:.1f} min | {parity} | {held} | {diff} | "
              f"{c.mcnemar_p:.3g} |" if c else "- |")
        if c and len(c.by_group) > 1 and kind == "dpo":
            for g, v in c.by_group.items():
                print(f"|   {g} | | | | | | | {v['before']:.1%} → {v['after']:.1%} (n {v['n']}) | | |")
    for kind, recipe, run, total in rows:
        r = run.replies
        if r is None:
            continue
        print(f"\nGreedy replies ({kind}) to {r.n} held-back messages, right when a harmful request is refused, a benign "
              "question answered and a red flag met with emergency advice (phrase patterns, `train/checks.py`):")
        print("| group | n | before [95% CI] | after [95% CI] |")
        print("|---|---|---|---|")
        for g, v in r.by_group.items():
            print(f"| {g} | {v['n']} | {v['before']:.1%} [{v['before_ci'][0]:.1%}, {v['before_ci'][1]:.1%}] | "
                  f"{v['after']:.1%} [{v['after_ci'][0]:.1%}, {v['after_ci'][1]:.1%}] |")
        print(f"| all | {r.n} | {r.before:.1%} | {r.after:.1%} (diff {r.diff * 100:+.1f} [{r.diff_ci[0] * 100:+.1f}, "
              f"{r.diff_ci[1] * 100:+.1f}], McNemar p {r.mcnemar_p:.3g}) |")
    print("\n(loop wall = loading, before-check, training, export, parity and after-check; a resumed run counts only what it redid)")


if __name__ == "__main__":
    main()
