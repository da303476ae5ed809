"""Disease and chemical NER: the taggers of `medllm.tasks.ie.ner` side by side, one table.

    nice python benchmarks/ner.py [--data ../shared/data] [--systems default,minilm-noabbr,minilm-int8,spacy:build/ner-spacy,dictionary]
    nice python benchmarks/ner.py --eval bc5cdr=PATH/test.tsv --eval ncbi=PATH/test.tsv   # held-out files
    nice python benchmarks/ner.py --fold A --o-bias-sweep --model build/ner-stage1   # how the O bias was chosen

By default each system is scored on devel fold B (the second half of each devel file): the
MiniLM epoch and the spaCy epoch were chosen on fold A, and nothing was fit to fold B.
Scoring is entity-level strict (same boundaries and same type), per type, on the pre-tokenised
sentences (`tag_tokens`). NCBI-disease annotates diseases only, so there only Disease is scored
(a Chemical prediction neither helps nor hurts). 95% intervals: percentile bootstrap (1000
draws) over blocks of 10 consecutive sentences (about one abstract; sentences of one abstract
are not independent).
Throughput: `tag()` on raw text (the scored sentences joined into paragraphs of 10), one
process, torch/BLAS at one thread: characters per second per core.

Systems: `default` = the shipped MiniLM token classifier (what `load_tagger()` returns), with
its O bias (chosen on fold A) and the abbreviation step (`tasks/ie/abbreviations.py`);
`minilm-noabbr` = the same without the abbreviation step;
`minilm-int8` = the same weights with int8 linear layers (dynamic quantisation); `spacy:PATH` = a spaCy
CNN pipeline trained on the same train splits (`python -m medllm.tasks.ie.ner_train --spacy
PATH`); `dictionary` = the knowledge-graph lexicon linker (HPO/ICD-10-CM/drug names).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from medllm.tasks.ie.ner import load_tagger  # noqa: E402
from medllm.tasks.ie.ner_train import Sentence, datasets, folds, read_iob, strict_counts  # noqa: E402

BLOCK = 10


def prf(c: np.ndarray) -> np.ndarray:
    """[..., 3] counts (tp, predicted, gold) -> [..., 3] (P, R, F1)."""
    tp, npred, ngold = c[..., 0].astype(float), c[..., 1].astype(float), c[..., 2].astype(float)
    p = np.divide(tp, npred, out=np.zeros_like(tp), where=npred > 0)
    r = np.divide(tp, ngold, out=np.zeros_like(tp), where=ngold > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)
    return np.stack([p, r, f], -1)


def block_bootstrap(counts: np.ndarray, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """[3 metrics, 2] 95% percentile intervals of P/R/F1, resampling blocks of sentences."""
    nb = -(-len(counts) // BLOCK)
    blocks = np.zeros((nb, 3), dtype=np.int64)
    np.add.at(blocks, np.arange(len(counts)) // BLOCK, counts)
    rng = np.random.default_rng(seed)
    draws = blocks[rng.integers(0, nb, size=(n_boot, nb))].sum(1)
    return np.quantile(prf(draws), [0.025, 0.975], axis=0).T


def throughput(tagger, sents: list[Sentence], limit_chars: int = 60_000) -> float:
    paras, n = [], 0
    for i in range(0, len(sents), BLOCK):
        p = " ".join(" ".join(s.tokens) for s in sents[i : i + BLOCK])
        paras.append(p)
        n += len(p)
        if n >= limit_chars:
            break
    tagger.tag(paras[0][:200])  # warm-up
    t0 = time.process_time()
    for p in paras:
        tagger.tag(p)
    return n / max(time.process_time() - t0, 1e-9)


def o_bias_sweep(sets: dict[str, list[Sentence]], where: str, model_dir: Path | None = None) -> None:
    """Strict F1 per type of the MiniLM tagger (abbreviation step on) for each O bias, on one
    set of word log-probabilities per corpus."""
    from medllm.tasks.ie.ner import MiniLMTagger

    tagger = MiniLMTagger.load(model_dir)
    logprobs = {c: tagger.word_logprobs([s.tokens for s in sents]) for c, sents in sets.items()}
    print(f"# O bias sweep, MiniLM tagger {model_dir or '(shipped)'}, {where}")
    for bias in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
        tagger.o_bias = bias
        cells = []
        for corpus, sents in sets.items():
            labs = ("Chemical", "Disease") if corpus == "bc5cdr" else ("Disease",)
            pred = tagger.decode([s.tokens for s in sents], logprobs[corpus])
            counts = strict_counts([s.tags for s in sents], pred, labs)
            cells += [(f"{corpus}/{lab}", prf(counts[lab].sum(0))[2]) for lab in labs]
        mean = sum(f for _, f in cells) / len(cells)
        print(f"o_bias {bias:<5} " + "  ".join(f"{k} {f:.4f}" for k, f in cells) + f"  mean {mean:.4f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--systems", default="default,minilm-noabbr,minilm-int8,spacy:build/ner-spacy,dictionary")
    ap.add_argument("--eval", action="append", default=[], metavar="CORPUS=PATH", help="score on these files instead (corpus: bc5cdr or ncbi)")
    ap.add_argument("--fold", choices=["A", "B", "all"], default="B", help="which devel fold to score (A was used to pick epochs)")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--o-bias-sweep", action="store_true",
                    help="F1 of the MiniLM tagger for each O bias in 0..4 (choose it on fold A, never on B)")
    ap.add_argument("--model", type=Path, default=None,
                    help="for --o-bias-sweep: a MiniLM artefact folder (e.g. build/ner-stage1, which fold A did not train)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    if args.eval:
        sets = {}
        for spec in args.eval:
            corpus, _, path = spec.partition("=")
            if corpus not in ("bc5cdr", "ncbi") or not path:
                sys.exit(f"--eval {spec!r}: expected bc5cdr=PATH or ncbi=PATH")
            sets[corpus] = read_iob(Path(path), corpus)
        where = "given files"
    else:
        paths = datasets(args.data)
        sets = {}
        for corpus in ("bc5cdr", "ncbi"):
            sents = read_iob(paths[f"{corpus}/devel"], corpus)
            a, b = folds(sents)
            sets[corpus] = {"A": a, "B": b, "all": sents}[args.fold]
        where = f"devel fold {args.fold}"

    if args.o_bias_sweep:
        o_bias_sweep(sets, where, args.model)
        return
    print(f"# NER, entity-level strict, {where}: " + ", ".join(f"{c} {len(s)} sentences" for c, s in sets.items()))
    header = f"{'system':<22} {'corpus/type':<17} {'gold':>5} {'P [95% CI]':>20} {'R [95% CI]':>20} {'F1 [95% CI]':>20} {'chars/s/core':>12}"
    print(header)
    print("-" * len(header))
    for name in [s for s in args.systems.split(",") if s]:
        try:
            tagger = load_tagger(name)
        except (FileNotFoundError, ImportError, AttributeError) as e:
            print(f"{name:<22} skipped: {e}")
            continue
        speed = throughput(tagger, next(iter(sets.values())))
        first = True
        for corpus, sents in sets.items():
            labs = ("Chemical", "Disease") if corpus == "bc5cdr" else ("Disease",)
            pred = tagger.tag_tokens([s.tokens for s in sents])
            bad = [i for i, (s, p) in enumerate(zip(sents, pred)) if len(s.tokens) != len(p)]
            if bad:
                sys.exit(f"{name}: tag_tokens returned the wrong number of tags for sentence {bad[0]} of {corpus}")
            counts = strict_counts([s.tags for s in sents], pred, labs)
            rows = [(lab, counts[lab]) for lab in labs]
            if len(labs) > 1:
                rows.append(("all", sum(counts.values())))
            for lab, c in rows:
                point = prf(c.sum(0))
                ci = block_bootstrap(c, args.boot)
                cells = " ".join(f"{point[k]:.3f} [{ci[k, 0]:.3f},{ci[k, 1]:.3f}]".rjust(20) for k in range(3))
                sp = f"{speed:,.0f}" if first else ""
                print(f"{name if first else '':<22} {corpus + '/' + lab:<17} {int(c[:, 2].sum()):>5} {cells} {sp:>12}", flush=True)
                first = False


if __name__ == "__main__":
    main()
