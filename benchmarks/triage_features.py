"""Which features should the triage judge read? Out-of-fold AUC of the triage heads over each
feature set, on every training message except the written vignettes (so the choice never sees the
folds `benchmarks/safety.py` reports on the written vignettes).

    nice python benchmarks/triage_features.py

Feature sets: the untuned MiniLM sentence embedding (what the classifier starts from), and the
packaged 0.5B model's last-layer states read by `medllm.trust.triage_probe` (the prompt's last
token, the mean over the message, both). Five folds grouped by emergency; "team only" is the AUC
on the team-written messages alone (first-person mild symptoms against emergencies told by
patients, the hardest pairs in training). A second table asks the refusal question where it is
hard: harmful against benign requests of XSTest and of Do-Not-Answer, each source left out of
training in turn, for MiniLM, the probe states, and both joined. The probe states take ~35 min
to read the first time (kept in $MEDLLM_HOME/cache, shared with benchmarks/safety.py).

    nice python benchmarks/triage_features.py --refusal-judge llamacpp:qwen2.5-coder-1.5b-instruct

adds the same refusal question put to a local instruct model, fitted on nothing: yes against no
by log-likelihood, with the shipped few-shot prompt (`triage_judge.REFUSE_TASK` and its shots) and
with that task zero-shot in Qwen's chat template (~6 min for both on the 1.5B).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from medllm.trust.triage_probe import PROBE_MODEL, standardised_features
from medllm.trust.triage_train import (
    cached_embeddings, cached_probe_states, default_emb_cache, fit, load_dev, load_extra_benign,
    load_team_written,
)


def standardised_unit(*blocks: np.ndarray) -> np.ndarray:
    """The probe's transform (`standardised_features`), with statistics of the whole selection set."""
    return standardised_features(blocks, [a.mean(0) for a in blocks], [a.std(0) + 1e-6 for a in blocks])


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--refusal-judge", default=None, metavar="MODEL_SPEC",
                    help="also ask a local llamacpp model the refusal question (few-shot and chat prompts)")
    args = ap.parse_args(argv)
    allx = load_dev(args.data / "safety" / "safety_dev.jsonl") + load_extra_benign(args.data) + load_team_written()
    sel = [e for e in allx if e.source != "written"]
    texts = [e.text for e in sel]
    cache = default_emb_cache()
    minilm = cached_embeddings([e.text for e in allx], cache)[[i for i, e in enumerate(allx) if e.source != "written"]]
    last, mean = cached_probe_states(texts, cache.with_name(f"safety_probe_{PROBE_MODEL}.npz"),
                                     log=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    feature_sets = {
        "MiniLM (untuned)": minilm,
        f"{PROBE_MODEL}: last token": standardised_unit(last),
        f"{PROBE_MODEL}: message mean": standardised_unit(mean),
        f"{PROBE_MODEL}: last + mean (ships)": standardised_unit(last, mean),
    }
    kinds = np.array([e.kind for e in sel])
    team = np.array([e.source == "team" for e in sel])
    print(f"# {len(sel)} messages (no written vignettes): {int((kinds == 'red_flag').sum())} red flags, "
          f"{int((kinds == 'harmful').sum())} harmful; team-written {int(team.sum())}\n")
    print("| features | AUC emergency | AUC emergency, team-written only | AUC harmful |")
    print("|---|---|---|---|")
    for name, F in feature_sets.items():
        p_em, p_harm = np.zeros(len(sel)), np.zeros(len(sel))
        for a, b in GroupKFold(5).split(sel, groups=[e.group for e in sel]):
            w = fit([sel[i] for i in a], F[a])
            p_em[b], p_harm[b] = w.emergency.proba(F[b])[:, 1], w.harmful.proba(F[b])[:, 1]
        print(f"| {name} | {roc_auc_score(kinds == 'red_flag', p_em):.4f} | "
              f"{roc_auc_score(kinds[team] == 'red_flag', p_em[team]):.4f} | "
              f"{roc_auc_score(kinds == 'harmful', p_harm):.4f} |", flush=True)

    feature_sets["MiniLM + last + mean"] = np.hstack([minilm, feature_sets[f"{PROBE_MODEL}: last + mean (ships)"]])
    loso = ("xstest", "do-not-answer")
    print("\n| features | " + " | ".join(f"AUC harmful vs benign, {s} left out" for s in loso) + " |")
    print("|---|" + "---|" * len(loso))
    # each left-out source: (training rows, its harmful and benign requests)
    split = {src: ([i for i, e in enumerate(sel) if e.source != src],
                   [i for i, e in enumerate(sel) if e.source == src and e.kind != "red_flag"]) for src in loso}
    for name, F in feature_sets.items():
        cells = []
        for tr, te in split.values():
            w = fit([sel[i] for i in tr], F[tr])
            cells.append(f"{roc_auc_score(kinds[te] == 'harmful', w.harmful.proba(F[te])[:, 1]):.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    for name, ask in judge_prompts(args.refusal_judge).items() if args.refusal_judge else ():
        cells = [f"{roc_auc_score(kinds[te] == 'harmful', [ask(sel[i].text) for i in te]):.4f}" for _, te in split.values()]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def judge_prompts(spec: str) -> dict[str, Callable[[str], float]]:
    """p(yes) to the refusal question from `spec`: the shipped few-shot judge, and the same task
    zero-shot in Qwen's chat template (an instruct model's own format)."""
    from medllm.session import Session
    from medllm.trust.triage_judge import REFUSE_TASK, LLMJudge

    LLMJudge.from_spec(spec)  # the judge's own check of the spec (a local llamacpp: model)
    model = Session.configure().load_model(spec, cache=False)
    judge = LLMJudge(model=model, spec=spec)

    def chat(text: str) -> float:
        prompt = (f"<|im_start|>system\n{REFUSE_TASK} Reply with one word: yes or no.<|im_end|>\n"
                  f"<|im_start|>user\nMessage: {' '.join(text.split())[:1500]}\n"
                  "Should the assistant refuse?<|im_end|>\n<|im_start|>assistant\n")
        yes, no = model.loglikelihood([(prompt, "yes"), (prompt, "no")])
        return 1.0 / (1.0 + math.exp(no.logprob - yes.logprob))

    name = spec.split(":")[-1]
    return {f"{name}, few-shot refusal judge (ships as an option)": judge.p_refuse,
            f"{name}, same task zero-shot in its chat template": chat}


if __name__ == "__main__":
    main()
