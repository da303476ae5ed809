"""One self-contained HTML page for one or more runs: summary table, per-subject accuracy with
CIs, reliability diagrams, coverage-accuracy curves and paired comparisons. Plots are inline SVG
drawn by matplotlib (Agg backend); the page loads nothing from anywhere."""

from __future__ import annotations

import html
import io
import itertools
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medllm.eval.runner import compare_runs
from medllm.eval.store import RunFiles, atomic_write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd;
padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;width:100%}
th,td{border:1px solid #d5dae1;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.note{color:#556;font-size:.85rem}.fig{margin:.5rem 0}.fig svg{max-width:100%;height:auto}
code{background:#f3f5f8;padding:0 .2rem;word-break:break-all}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _fmt(v: Any, pct: bool = False, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.{digits}f}"


def _ci(ci: list[float] | None) -> str:
    if not ci or any(c is None or math.isnan(c) for c in ci):
        return ""
    return f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype


def _label(run: RunFiles, i: int) -> str:
    s = run.summary
    return (f"#{i + 1} {s.get('model', '?').split(':')[-1]} · {s.get('mode')} · "
            f"{s.get('strategy')} · {s.get('shots', 0)}-shot")


def _summary_table(runs: list[RunFiles]) -> str:
    head = ("run", "dataset", "model", "mode / strategy / shots", "n", "accuracy [95% Wilson]",
            "bootstrap 95%", "acc_norm", "macro-F1", "ECE", "Brier", "acc @80% cov.",
            "parse fail", "Med-HALT", "F1 (entity / negation) [bootstrap 95%]", "wall s")
    rows = []
    for i, r in enumerate(runs):
        s, m = r.summary, r.summary.get("metrics", {})
        acc = m.get("accuracy", {})
        f1 = m.get("f1") or m.get("negation_f1") or {}  # ner / assertion runs
        rows.append([
            f"#{i + 1}", _e(s.get("dataset_name") or s.get("dataset")),
            _e(s.get("model")),
            _e(f"{s.get('mode')} / {s.get('strategy')} / {s.get('shots')}"),
            f"<td class=num>{s.get('n')}</td>",
            f"<td class=num>{_fmt(acc.get('value'), True)}{_ci(acc.get('wilson'))}</td>",
            f"<td class=num>{_ci(acc.get('bootstrap')).strip() or '–'}</td>",
            f"<td class=num>{_fmt(m.get('acc_norm', {}).get('value'), True)}</td>",
            f"<td class=num>{_fmt(m.get('macro_f1', {}).get('value'))}</td>",
            f"<td class=num>{_fmt(m.get('ece', {}).get('value'))}</td>",
            f"<td class=num>{_fmt(m.get('brier', {}).get('value'))}</td>",
            f"<td class=num>{_fmt(m.get('acc_at_80_coverage', {}).get('value'), True)}</td>",
            f"<td class=num>{_fmt(m.get('parse_failure_rate', {}).get('value'), True)}</td>",
            f"<td class=num>{_fmt(m.get('medhalt_score', {}).get('value'))}</td>",
            f"<td class=num>{_fmt(f1.get('value'), True)}{_ci(f1.get('bootstrap'))}</td>",
            f"<td class=num>{_fmt(s.get('wall_seconds'), digits=1)}</td>",
        ])
    out = "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    for row in rows:
        out += "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
    return out + "</table>"


def _subject_fig(runs: list[RunFiles], max_subjects: int = 25) -> str:
    with_subj = [(i, r) for i, r in enumerate(runs) if r.summary["metrics"].get("per_subject")]
    if not with_subj:
        return "<p class=note>No subject labels in these datasets.</p>"
    import matplotlib.pyplot as plt

    counts: dict[str, int] = {}
    for _, r in with_subj:
        for s, v in r.summary["metrics"]["per_subject"].items():
            counts[s] = max(counts.get(s, 0), v["n"])  # runs usually share items
    subjects = sorted(counts, key=lambda s: -counts[s])[:max_subjects]
    height = 0.8 / len(with_subj)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(subjects) * max(1, len(with_subj) * 0.7) + 1))
    for j, (i, r) in enumerate(with_subj):
        per = r.summary["metrics"]["per_subject"]
        ys, xs, lo, hi = [], [], [], []
        for k, s in enumerate(subjects):
            if s in per:
                v = per[s]
                ys.append(k + j * height)
                xs.append(v["accuracy"])
                lo.append(v["accuracy"] - v["wilson"][0])
                hi.append(v["wilson"][1] - v["accuracy"])
        ax.barh(ys, xs, height=height, xerr=[lo, hi], capsize=2, label=_label(r, i),
                error_kw={"elinewidth": 0.8})
    ax.set_yticks([k + height * (len(with_subj) - 1) / 2 for k in range(len(subjects))])
    ax.set_yticklabels([f"{s} (n={counts[s]})" for s in subjects], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy (bars: 95% Wilson CI)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    note = "" if len(counts) <= max_subjects else (
        f"<p class=note>The {max_subjects} largest of {len(counts)} subjects.</p>")
    return f"<div class=fig>{_svg(fig)}</div>{note}"


def _calibration_figs(runs: list[RunFiles]) -> str:
    cal = [(i, r) for i, r in enumerate(runs) if r.summary["metrics"].get("reliability")]
    if not cal:
        return "<p class=note>No option probabilities in these runs (generate mode has none).</p>"
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    a1.plot([0, 1], [0, 1], ls="--", color="#999", lw=1, label="perfect calibration")
    for i, r in cal:
        bins = [b for b in r.summary["metrics"]["reliability"] if b["count"]]
        a1.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                label=f"{_label(r, i)} (ECE {r.summary['metrics']['ece']['value']:.3f})")
        cc = r.summary["metrics"]["coverage_curve"]
        a2.plot(cc["coverage"], cc["accuracy"], label=_label(r, i))
    a1.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean confidence in bin",
           ylabel="accuracy in bin", title="Reliability diagram (10 equal-width bins)")
    a2.axvline(0.8, ls=":", color="#999", lw=1)
    a2.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="coverage (most confident share answered)",
           ylabel="accuracy", title="Selective prediction")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend(fontsize=7, loc="lower right")
    return f"<div class=fig>{_svg(fig)}</div>"


GEN_KINDS = {"note", "section", "summary", "kqa"}


def _is_gen(run: RunFiles) -> bool:
    return bool(set(run.summary.get("task") or []) & GEN_KINDS)


def _generation(runs: list[RunFiles]) -> str:
    """ROUGE, factuality and K-QA figures of generation runs, and statements the judge found
    unsupported by the source (or, for K-QA, reference statements the answer contradicts)."""
    gen = [(i, r) for i, r in enumerate(runs) if _is_gen(r)]
    if not gen:
        return "<p class=note>No generation runs.</p>"
    cols = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"), ("rougeLsum", "ROUGE-Lsum"),
            ("factuality", "factuality (share supported)"), ("comprehensiveness", "K-QA comprehensiveness"))
    out = "<table><tr><th>run</th>" + "".join(f"<th>{h} [bootstrap 95%]</th>" for _, h in cols)
    out += "<th>K-QA contradicted / answer</th><th>judge</th></tr>"
    for i, r in gen:
        m = r.summary["metrics"]
        out += f"<tr><td>{_e(_label(r, i))}</td>" + "".join(
            f"<td class=num>{_fmt(m.get(k, {}).get('value'), True)}{_ci(m.get(k, {}).get('bootstrap'))}</td>"
            for k, _ in cols)
        hall = m.get("hallucination", {})
        out += (f"<td class=num>{_fmt(hall.get('value'), digits=2)}</td>"
                f"<td>{_e((m.get('judge') or {}).get('name') or '–')}</td></tr>")
    out += "</table>"
    for i, r in gen:
        ex = r.summary["metrics"].get("unsupported_examples") or []
        if not ex:
            continue
        kqa = "kqa" in (r.summary.get("task") or [])
        out += (f"<h3>{_e(_label(r, i))}: " + ("reference statements the answer contradicts" if kqa else
                "statements the source does not support") + "</h3><table><tr><th>item</th><th>statement</th>"
                "<th>verdict</th><th>closest source passage</th></tr>")
        out += "".join(f"<tr><td><code>{_e(x.get('id'))}</code></td><td>{_e(x.get('claim'))}</td>"
                       f"<td>{_e(x.get('verdict'))}</td><td>{_e(x.get('closest'))}</td></tr>" for x in ex)
        out += "</table>"
    return out


def _comparisons(runs: list[RunFiles]) -> str:
    rows = []
    for (i, a), (j, b) in itertools.combinations(enumerate(runs), 2):
        if _is_gen(a) or _is_gen(b):
            continue  # no right / wrong per item to pair
        try:
            c = compare_runs(a.predictions, b.predictions)
        except ValueError:
            continue
        rows.append(
            f"<tr><td>#{i + 1} vs #{j + 1}</td><td class=num>{c['n_shared']}</td>"
            f"<td class=num>{_fmt(c['accuracy_a'], True)}</td>"
            f"<td class=num>{_fmt(c['accuracy_b'], True)}</td>"
            f"<td class=num>{100 * c['diff_b_minus_a']:+.1f} pts{_ci(c['diff_ci'])}</td>"
            f"<td class=num>{c['a_only_correct']} / {c['b_only_correct']}</td>"
            f"<td class=num>{c['mcnemar_p']:.4g}</td>"
            f"<td class=num>{_fmt(c['agreement'], True)}</td></tr>"
        )
    if not rows:
        return "<p class=note>No two runs share items, so there is no paired comparison.</p>"
    return (
        "<table><tr><th>pair (A vs B)</th><th>shared items</th><th>acc A</th><th>acc B</th>"
        "<th>B − A [paired bootstrap 95%]</th><th>only A right / only B right</th>"
        "<th>exact McNemar p</th><th>same prediction</th></tr>" + "".join(rows) + "</table>"
    )


def render_report(runs: list[RunFiles], title: str = "medllm evaluation report") -> str:
    """The HTML text of the report."""
    if not runs:
        raise ValueError("a report needs at least one run")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})  # text stays text: smaller
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = sorted({str(r.summary.get("medllm_version")) for r in runs})
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p class=note>{len(runs)} run(s) · generated {when} · medllm {', '.join(versions)}. "
        "Accuracy intervals are 95% Wilson score intervals (bootstrap in its own column); "
        "loglik numbers are lm-evaluation-harness style option scoring, generate numbers come "
        "from answers extracted from the model's text.</p>",
        "<h2>Summary</h2>", _summary_table(runs),
        "<p class=note>Run ids, dataset specs and directories are in the Runs table at the end.</p>",
        "<h2>Accuracy by subject</h2>", _subject_fig(runs),
        "<h2>Calibration and selective prediction</h2>", _calibration_figs(runs),
        "<h2>Generation: ROUGE, factuality, K-QA</h2>", _generation(runs),
        "<h2>Paired comparison</h2>", _comparisons(runs),
        "<h2>Runs</h2><table><tr><th>#</th><th>run id</th><th>dataset spec</th><th>seed</th>"
        "<th>shots from</th><th>finished</th><th>directory</th></tr>",
    ]
    for i, r in enumerate(runs):
        s = r.summary
        parts.append(
            f"<tr><td>{i + 1}</td><td style='min-width:18em'><code>{_e(r.run_id)}</code></td>"
            f"<td><code>{_e(s.get('dataset'))}</code></td><td>{_e(s.get('seed'))}</td>"
            f"<td><code>{_e(s.get('shots_from') or '–')}</code></td>"
            f"<td>{_e(s.get('finished'))}</td><td><code>{_e(r.out_dir)}</code></td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(runs: list[RunFiles], out: Path, title: str = "medllm evaluation report") -> Path:
    out = Path(out)
    atomic_write_text(out, render_report(runs, title))
    return out
