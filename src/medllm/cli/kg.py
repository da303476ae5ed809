"""Knowledge graph: link text to concepts, explore neighbours and paths, differential diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from medllm.cli.common import console, err_console, progress_bar, user_errors

app = typer.Typer(no_args_is_help=True)


def _graph():
    from medllm.session import Session

    with console.status("loading the knowledge graph"):
        return Session.configure().knowledge_graph()


def _dense(index: Optional[Path], use: bool):
    """The default KB's dense part (HPO term vectors) for the linker's fallback, when present."""
    if not use:
        return None
    from medllm.session import Session

    session = Session.configure()
    folder = index or session.default_index_dir
    if not (folder / "manifest.json").exists():
        return None
    r = session.index(folder)
    return r.dense


@app.command()
@user_errors
def link(
    text: str = typer.Argument(..., help="Free text, e.g. a case summary."),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="Dense fallback over HPO terms (needs the default KB built with --dense hpo)."),
    index: Optional[Path] = typer.Option(None, "--index", help="Index with HPO term vectors (default: the default KB)."),
) -> None:
    """Print the concepts found in TEXT: span, concept id, name, type, polarity."""
    g = _graph()
    spans = g.link(text, dense=_dense(index, dense))
    if not spans:
        console.print("no concepts found")
    for s in spans:
        c = g.concepts[s.concept_id]
        pol = "[red]negated[/]" if s.polarity == "negated" else "[green]present[/]"
        how = "" if (s.score or 1.0) >= 1.0 else f" (dense {s.score:.2f})"
        console.print(f"{s.start:>4}-{s.end:<4} {s.text!r:<28} {c.id:<18} {c.name}  [{c.type}] {pol}{how}", highlight=False, soft_wrap=True)


@app.command()
@user_errors
def ddx(
    phenotypes: Optional[str] = typer.Argument(None, help="HPO ids or symptom words, comma separated ('no X' marks X as excluded)."),
    exclude: Optional[str] = typer.Option(None, "--exclude", help="Phenotypes the patient does NOT have (HPO ids, comma separated)."),
    k: int = typer.Option(10, "-k", help="How many diseases."),
    source: list[str] = typer.Option(["OMIM"], "--source", help="Disease sources to rank: OMIM (default), ORPHA (repeat the option for both)."),
    explain: bool = typer.Option(True, "--explain/--no-explain", help="Show which observed and excluded terms moved each disease."),
    method: str = typer.Option("lr", help="lr (likelihood ratios, fitted on published cases), query (Resnik patient -> disease), bma (Resnik symmetric) or overlap."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    phenopacket: Optional[Path] = typer.Option(None, "--phenopacket", help="Rank the patient of a GA4GH phenopacket (v2 JSON)."),
    batch: Optional[Path] = typer.Option(None, "--batch", help='JSON lines of {"id", "observed": [HP ids], "excluded": [HP ids]}; needs --out.'),
    out: Optional[Path] = typer.Option(None, "--out", help='With --batch: JSON lines of {"id", "diagnoses": [{"disease_id", "name", "score", "rank"}]} (resumable).'),
    hpoa: Optional[Path] = typer.Option(None, "--hpoa", help="A phenotype.hpoa to use instead of the annotations bundled in hpo3 (also the hpoa setting)."),
) -> None:
    """Rank diseases for a patient's phenotypes (rare-disease phenotype match), each explained.

    Scores are posteriors among the graph's Mendelian diseases; it knows no prevalence."""
    import json as _json

    from medllm.knowledge.kg.ddx import Differential
    from medllm.session import Session

    sources = tuple(s.upper() for s in source)
    if batch is not None and out is None:
        raise ValueError("--batch needs --out RANKED.jsonl")
    given = [x for x in (phenotypes, phenopacket, batch) if x is not None]
    if len(given) != 1:
        raise ValueError("give one of: PHENOTYPES, --phenopacket FILE.json, --batch CASES.jsonl")
    with console.status("loading the knowledge graph"):
        g = Session.configure(hpoa=hpoa).knowledge_graph()
    dx = Differential(g)
    if batch is not None:
        from medllm.knowledge.kg.cases import rank_batch

        with progress_bar("ddx", err_console) as bar:
            task = bar.add_task("ddx", total=None)
            rep = rank_batch(dx, batch, out, k=k, sources=sources,  # type: ignore[arg-type]
                             on_progress=lambda done, total: bar.update(task, completed=done, total=total))
        for ln, why in rep.bad:
            err_console.print(f"[yellow]{batch}:{ln}:[/] {why}; skipped", highlight=False, soft_wrap=True)
        console.print(f"ranked {rep.ranked} cases ({rep.resumed} already done), {len(rep.bad)} bad lines -> {out}",
                      highlight=False)
        return
    if phenopacket is not None:
        from medllm.knowledge.kg.cases import read_phenopacket

        pp = read_phenopacket(phenopacket)
        case = dx.case(pp.observed, pp.excluded, strict=False)
        case_id = pp.id
    else:
        items = [x.strip() for x in (phenotypes or "").split(",") if x.strip()]
        excl = [x.strip() for x in (exclude or "").split(",") if x.strip()]
        case = dx.case(items, excl)
        case_id = None
    diags = dx.rank(case, k=k, sources=sources, method=method, explain=explain)
    name = lambda t: g.concepts[t].name  # noqa: E731
    if as_json:
        rec = {"id": case_id, "method": method, "annotations": g.annotation_source,
               "excluded_weighed": bool(case.excluded) and dx.fk.nnz > 0,
               "observed": case.observed, "excluded": case.excluded, "ignored": case.ignored,
               "diagnoses": [{**d.to_dict(), "log_lr": d.log_lr,
                              "evidence": [{"term": m.patient, "name": name(m.patient), "excluded": m.excluded,
                                            "disease_term": m.disease_term or None, "log_lr": m.log_lr}
                                           for m in d.matches + d.excluded]} for d in diags]}
        console.print_json(_json.dumps(rec))
        return
    console.print("observed: " + "; ".join(f"{name(p)} ({p})" for p in case.observed), highlight=False, soft_wrap=True)
    if case.excluded:
        console.print("excluded: " + "; ".join(f"{name(p)} ({p})" for p in case.excluded), highlight=False, soft_wrap=True)
    if case.excluded and dx.fk.nnz == 0:
        console.print("[dim]excluded terms move nothing here: these annotations give no frequencies, so the absence "
                      "of a feature cannot be weighed (load a phenotype.hpoa with --hpoa)[/]", highlight=False, soft_wrap=True)
    if case.ignored:
        console.print("set aside (not in this HPO release, or not a phenotypic abnormality): " + ", ".join(case.ignored),
                      highlight=False, soft_wrap=True)
    what = "posterior" if method == "lr" else "score"
    console.print(f"[dim]rare-disease phenotype match ({g.annotation_source}); {what} assumes the diagnosis is among "
                  "the ranked diseases[/]", highlight=False, soft_wrap=True)
    names = {t: c.name for t, c in g.concepts.items() if c.type == "phenotype"}
    for d in diags:
        console.print(f"[bold]{d.rank:>2}.[/] {d.score:<8.3g} [cyan]{d.disease_id}[/]  {d.name}", highlight=False, soft_wrap=True)
        if explain:
            for m in sorted(d.matches + d.excluded, key=lambda m: -abs(m.log_lr)):
                console.print(f"       {m.log_lr:+6.2f}  {m.describe(names)}", highlight=False, soft_wrap=True)


@app.command()
@user_errors
def neighbours(
    concept: str = typer.Argument(..., help="A concept id, e.g. HP:0001945 or OMIM:154700."),
    relation: Optional[str] = typer.Option(None, help="is_a, has_phenotype, gene_phenotype or code_parent."),
    limit: int = typer.Option(30, help="At most this many."),
) -> None:
    """List a concept's neighbours with the relation and its direction."""
    g = _graph()
    c = g.get(concept)
    console.print(f"[bold]{c.name}[/] ({c.id}, {c.type})", highlight=False, soft_wrap=True)
    for n in g.neighbours(c.id, relation=relation, limit=limit):
        arrow = "->" if n.direction == "out" else "<-"
        console.print(f"  {arrow} {n.relation:<15} {n.concept.id:<18} {n.concept.name}", highlight=False, soft_wrap=True)


@app.command()
@user_errors
def path(a: str = typer.Argument(...), b: str = typer.Argument(...), max_len: int = typer.Option(6)) -> None:
    """Shortest explained paths between two concepts."""
    g = _graph()
    ps = g.paths(a, b, max_len=max_len)
    if not ps:
        console.print(f"no path of at most {max_len} steps")
    for p in ps:
        console.print(g.explain(p), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def subgraph(concepts: list[str] = typer.Argument(..., help="Concept ids."), max_facts: int = typer.Option(30)) -> None:
    """Facts around concepts as text lines (what KG-RAG puts in a prompt)."""
    g = _graph()
    for line in g.subgraph(concepts, max_facts=max_facts):
        console.print(line, highlight=False, soft_wrap=True)
