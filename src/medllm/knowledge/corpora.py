"""Corpus loaders: each turns one on-disk format into a stream of `Document`s.

Formats:
- `medrag`: JSON lines in the MedRAG corpus layout, `{id, title, content}` (MedRAG's
  `contents` field, title + content, is accepted when `content` is missing).
- `medquad`: the JSON lines in `../shared/data/medquad` (`{id, source, url, focus, qtype,
  question, answer}`) or the upstream folder of XML files (`<Document id source url>
  <Focus/> <QAPairs><QAPair><Question qtype/><Answer/></QAPair>...`). One document per answer;
  the title is the focus (not the question, so a retrieval benchmark cannot match on it).
- `pubmed`: PubMed/MEDLINE XML in the annual baseline format (`PubmedArticleSet`), plain or
  `.gz`; one document per citation with an abstract (title + abstract sections).
- `text`: a folder of `.txt` / `.md` files; the title is the first Markdown heading, else the
  file name.
- `openstax`: the OpenStax book sections in `../shared/data/corpora` (`{id, book, slug, chapter,
  title, text, url, license}`, plain or `.gz`; the default KB ships them in `medllm.assets`). Each
  section is cut at its `## ` headings into one document per heading, titled
  "book › chapter › section › heading", so every passage cites where in the book it stands;
  exercise and objective headings (review questions, learning outcomes ...) are left out.

A corpus spec is `KIND:PATH` or a bare PATH whose kind is sniffed (see `detect_kind`).
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from medllm.jsonl import BadLine, read_jsonl
from medllm.types import Document

KINDS = ("medrag", "medquad", "pubmed", "text", "openstax")
MEDQUAD_LICENSE = "CC BY 4.0"


class CorpusError(ValueError):
    """A corpus file or spec that cannot be read as asked."""


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    for n, row in read_jsonl(path):
        if isinstance(row, BadLine):
            raise CorpusError(f"{path}:{n}: {row.problem}; expected one JSON object per line")
        yield n, row


def load_medrag_jsonl(path: str | Path, source: str | None = None) -> Iterator[Document]:
    """MedRAG layout: `{"id", "title", "content"}` per line."""
    path = Path(path)
    src = source or path.name.split(".")[0]
    for n, row in _jsonl(path):
        text = row.get("content")
        if text is None:
            text = row.get("contents")
        if text is None or "id" not in row:
            raise CorpusError(f"{path}:{n}: a MedRAG row needs 'id' and 'content'; found keys {sorted(row)}")
        yield Document(id=str(row["id"]), title=str(row.get("title") or ""), text=str(text), source=src)


def _unique(seen: dict[str, int], key: str) -> str:
    """Upstream MedQuAD reuses ids across files (the shared JSONL: 16,407 rows, 12,136 distinct
    ids); repeats get `~2`, `~3`... in file order, so every answer keeps a stable, unique id."""
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}~{seen[key]}"


def load_medquad_jsonl(path: str | Path) -> Iterator[Document]:
    path = Path(path)
    seen: dict[str, int] = {}
    for n, row in _jsonl(path):
        if "answer" not in row or "id" not in row:
            raise CorpusError(f"{path}:{n}: a MedQuAD row needs 'id' and 'answer'; found keys {sorted(row)}")
        if not str(row["answer"]).strip():
            continue
        yield Document(
            id=_unique(seen, f"medquad:{row['id']}"), title=str(row.get("focus") or ""), text=str(row["answer"]).strip(),
            source="medquad", url=row.get("url"), license=MEDQUAD_LICENSE,
            metadata={"question": row.get("question"), "qtype": row.get("qtype"), "site": row.get("source")},
        )


# Headings whose text is exercises, objectives or reading lists, not clinical content.
OPENSTAX_SKIP = {"learning outcomes", "learning objectives", "multiple choice", "fill in the blank", "short answer",
                 "critical thinking", "review questions", "true/false", "matching", "references", "check your understanding"}
_HEADING = re.compile(r"^#{2,} +(.+?)\s*$", re.M)


def openstax_sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) pieces of one book section, cut at its `##` headings; the text before the
    first heading has heading ""."""
    marks = list(_HEADING.finditer(text))
    out = []
    start, heading = 0, ""
    for m in marks:
        out.append((heading, text[start:m.start()]))
        heading, start = m.group(1).strip(), m.end()
    out.append((heading, text[start:]))
    return [(h, b.strip()) for h, b in out if b.strip() and h.lower() not in OPENSTAX_SKIP]


def load_openstax_jsonl(path: str | Path) -> Iterator[Document]:
    path = Path(path)
    for n, row in _jsonl(path):
        missing = [k for k in ("id", "book", "title", "text") if k not in row]
        if missing:
            raise CorpusError(f"{path}:{n}: an OpenStax row needs {', '.join(missing)}; found keys {sorted(row)}")
        if str(row["title"]).strip().lower() == "preface":
            continue
        where = [str(row["book"]).strip(), str(row.get("chapter") or "").strip(), str(row["title"]).strip()]
        for k, (heading, body) in enumerate(openstax_sections(str(row["text"]))):
            title = " › ".join(x for x in [*where, heading] if x)
            yield Document(id=f"openstax:{row['id']}:{k}", title=title, text=body, source=f"openstax-{row.get('slug') or 'book'}",
                           url=row.get("url"), license=str(row.get("license") or "CC BY 4.0"),
                           metadata={"book": row["book"], "chapter": row.get("chapter"), "section": row["title"],
                                     "heading": heading})


def load_medquad_xml(folder: str | Path) -> Iterator[Document]:
    """The upstream MedQuAD folders (`1_CancerGov_QA/*.xml`, ...); pairs without an answer
    (the upstream removed some for copyright) are skipped."""
    folder = Path(folder)
    files = sorted(folder.rglob("*.xml")) if folder.is_dir() else [folder]
    if not files:
        raise CorpusError(f"{folder}: no .xml files found; expected the MedQuAD XML folders")
    seen: dict[str, int] = {}
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError as e:
            raise CorpusError(f"{f}: not valid XML ({e})") from None
        if root.tag != "Document":
            raise CorpusError(f"{f}: root element is <{root.tag}>, expected MedQuAD <Document>")
        doc_id = root.get("id") or f.stem
        focus = (root.findtext("Focus") or "").strip()
        for i, pair in enumerate(root.iter("QAPair"), 1):
            answer = (pair.findtext("Answer") or "").strip()
            if not answer:
                continue
            q = pair.find("Question")
            qid = (q.get("qid") if q is not None else None) or f"{doc_id}-{pair.get('pid') or i}"
            yield Document(
                id=_unique(seen, f"medquad:{qid}"), title=focus, text=answer, source="medquad", url=root.get("url"),
                license=MEDQUAD_LICENSE,
                metadata={"question": (q.text or "").strip() if q is not None else None,
                          "qtype": q.get("qtype") if q is not None else None, "site": root.get("source")},
            )


def _itertext(el: ET.Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def load_pubmed_xml(path: str | Path) -> Iterator[Document]:
    """PubMed baseline XML (`pubmed25n0001.xml.gz`) or a folder of them; streamed, so a
    30,000-citation file never sits in memory whole."""
    path = Path(path)
    files = sorted([*path.glob("*.xml"), *path.glob("*.xml.gz")]) if path.is_dir() else [path]
    if not files:
        raise CorpusError(f"{path}: no .xml or .xml.gz files found")
    for f in files:
        with _open(f) as fh:
            try:
                for _, el in ET.iterparse(fh, events=("end",)):
                    if el.tag != "PubmedArticle":
                        continue
                    pmid = (el.findtext("MedlineCitation/PMID") or "").strip()
                    art = el.find("MedlineCitation/Article")
                    title = _itertext(art.find("ArticleTitle")) if art is not None else ""
                    parts = []
                    for ab in el.iterfind("MedlineCitation/Article/Abstract/AbstractText"):
                        label, body = ab.get("Label"), _itertext(ab)
                        parts.append(f"{label}: {body}" if label else body)
                    el.clear()
                    if not pmid or not parts:
                        continue
                    yield Document(
                        id=f"pmid:{pmid}", title=title, text="\n".join(parts), source="pubmed",
                        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/", license="NLM terms",
                    )
            except ET.ParseError as e:
                raise CorpusError(f"{f}: not valid PubMed XML ({e})") from None


def load_text_folder(folder: str | Path, source: str | None = None) -> Iterator[Document]:
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: not a folder; `text:` expects a folder of .txt/.md files")
    src = source or folder.name
    for f in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".txt", ".md") and p.is_file()):
        text = f.read_text(encoding="utf-8", errors="replace").strip()
        if not text:
            continue
        title = f.stem.replace("_", " ")
        first = text.splitlines()[0].strip()
        if f.suffix.lower() == ".md" and first.startswith("#"):
            title = first.lstrip("#").strip()
        yield Document(id=f"{src}:{f.relative_to(folder).as_posix()}", title=title, text=text, source=src)


def detect_kind(path: Path) -> str:
    """Guess the format from the path: a JSON-lines file by its first row's keys, an XML file by
    its root element, a folder by what it holds."""
    if path.is_dir():
        xmls = next(iter(path.rglob("*.xml")), None) or next(iter(path.glob("*.xml.gz")), None)
        if xmls is not None:
            return detect_kind(xmls)
        if any(p.suffix.lower() in (".txt", ".md") for p in path.rglob("*")):
            return "text"
        raise CorpusError(f"{path}: folder holds no .xml, .txt or .md files")
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        for _, row in _jsonl(path):
            if "answer" in row and "question" in row:
                return "medquad"
            if "book" in row and "text" in row:
                return "openstax"
            if "content" in row or "contents" in row:
                return "medrag"
            raise CorpusError(f"{path}: JSON lines with keys {sorted(row)} match no known layout; "
                              "use medrag ({id,title,content}) or medquad ({id,question,answer,...})")
        raise CorpusError(f"{path}: empty file")
    if name.endswith((".xml", ".xml.gz")):
        with _open(path) as fh:
            for _, el in ET.iterparse(fh, events=("start",)):
                return "medquad" if el.tag == "Document" else "pubmed"
    if name.endswith((".txt", ".md")):
        raise CorpusError(f"{path}: give the folder that holds text files, not one file")
    raise CorpusError(f"{path}: cannot tell the corpus format; write KIND:PATH with KIND one of {', '.join(KINDS)}")


def parse_spec(spec: str) -> tuple[str, Path]:
    kind, sep, rest = spec.partition(":")
    if sep and kind in KINDS:
        path = Path(rest).expanduser()
    else:
        path = Path(spec).expanduser()
        kind = ""
    if not path.exists():
        raise CorpusError(f"corpus {spec!r}: {path} does not exist")
    return (kind or detect_kind(path)), path


def load_corpus(spec: str) -> Iterator[Document]:
    """Documents from a spec such as `medquad:../shared/data/medquad/medquad.jsonl`,
    `pubmed:baseline/`, `text:notes/`, `medrag:textbooks.jsonl`, or a bare path."""
    kind, path = parse_spec(spec)
    if kind == "medrag":
        return load_medrag_jsonl(path)
    if kind == "medquad":
        is_xml = path.is_dir() or path.name.lower().endswith(".xml")
        return load_medquad_xml(path) if is_xml else load_medquad_jsonl(path)
    if kind == "pubmed":
        return load_pubmed_xml(path)
    if kind == "openstax":
        return load_openstax_jsonl(path)
    return load_text_folder(path)
