"""Import review: the entry points (cli/, serve/, train/, benchmarks/) never read settings or build
pipeline parts themselves; `medllm.session.Session` does (the composition root), and they call
the jobs (`medllm.jobs`) or the session's parts."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = [REPO / "src" / "medllm" / d for d in ("cli", "serve", "train")] + [REPO / "benchmarks"]
# reading settings, and the constructors of the pipeline parts a Session owns (benchmarks that
# measure a component's own variants, e.g. PhiDetector ablations, build those variants themselves)
FORBIDDEN = {"load_settings", "Deidentifier", "Triager", "PrivacyGate", "load_model", "default_triager"}


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = dict.fromkeys(FORBIDDEN, "")  # local name -> the forbidden name it stands for
    modules: set[str] = set()  # names bound to medllm modules (`import medllm.models as m`)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for a in node.names:
                if a.name in FORBIDDEN:
                    names[a.asname or a.name] = a.name
                elif (node.module or "").startswith("medllm"):
                    modules.add(a.asname or a.name)  # `from medllm import models`
        elif isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("medllm"))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        if isinstance(fn, ast.Name) and fn.id in names:
            out.append(f"{path.relative_to(REPO)}:{node.lineno}: {fn.id}(...)")
        elif isinstance(fn, ast.Attribute) and fn.attr in FORBIDDEN:
            root = fn.value
            while isinstance(root, ast.Attribute):
                root = root.value
            # `session.load_model(...)` is the session's own part; `models.load_model(...)` is not
            if fn.attr != "load_model" or (isinstance(root, ast.Name) and root.id in modules):
                out.append(f"{path.relative_to(REPO)}:{node.lineno}: ...{fn.attr}(...)")
    return out


def test_entry_points_build_no_pipeline_parts():
    files = [f for d in ENTRY_POINTS for f in sorted(d.rglob("*.py"))]
    assert len(files) > 30  # the review saw the entry points
    found = [o for f in files for o in offences(f)]
    assert not found, ("entry points must get settings and parts from medllm.session.Session (or call "
                       "medllm.jobs), not build them:\n" + "\n".join(found))


def test_the_review_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from medllm.config import load_settings as ls\nimport medllm.models\n"
                   "from medllm.trust import triage\n"
                   "s = ls()\nm = medllm.models.load_model('x', s)\nt = triage.Triager()\n"
                   "ok = session.load_model('x')\n")
    found = [o.split(": ", 1)[1] for o in offences_in(bad)]
    assert found == ["ls(...)", "...load_model(...)", "...Triager(...)"]


def offences_in(path: Path) -> list[str]:
    global REPO
    keep = REPO
    REPO = path.parent
    try:
        return sorted(offences(path), key=lambda o: int(o.split(":")[1]))
    finally:
        REPO = keep


def test_only_the_session_reads_settings_for_the_parts_it_builds():
    """Below the entry points, the components take their settings as arguments; what still
    calls load_settings() is the session and library defaults for callers without one."""
    src = REPO / "src" / "medllm"
    readers = sorted(str(f.relative_to(src)) for f in src.rglob("*.py")
                     if "load_settings(" in f.read_text(encoding="utf-8"))
    assert "session.py" in readers
    for part in ("trust/triage.py", "trust/triage_judge.py", "reasoning/resources.py", "assistant.py"):
        assert part not in readers, part
