"""`medllm deid`: de-identify clinical notes (.txt and .jsonl files and folders), resumably."""

from __future__ import annotations

from pathlib import Path

import typer

from medllm.cli.common import UserError, console, print_batch_report, progress_bar, user_errors


def register(app: typer.Typer) -> None:
    @app.command("deid-learn")
    @user_errors
    def deid_learn(
        gold: list[Path] = typer.Argument(..., help="JSON-lines files of this site's annotated notes: "
                                                    "{id, text, spans: [{start, end, label}]}"),
        out: Path | None = typer.Option(None, "--out", "-o", help="where to write the site lexicon; "
                                        "default $MEDLLM_HOME/site_lexicon.json (used by deid and the gate)"),
    ) -> None:
        """Learn a site lexicon (staff names, local places, local shorthand) from annotated notes.
        It holds names: it stays local, like the vault."""
        from medllm.session import Session
        from medllm.trust.privacy import learn_site_lexicon, read_gold_notes
        from medllm.trust.privacy.lexicon import SITE_LEXICON_FILE

        notes = []
        try:
            for g in gold:
                notes += read_gold_notes(g)
        except ValueError as e:
            raise UserError(str(e)) from None
        site = learn_site_lexicon(notes)
        dst = out or Session.configure().home / SITE_LEXICON_FILE
        site.save(dst)
        console.print(f"{len(notes)} notes of {len({n[0] for n in notes})} patients: "
                      f"{len(site.names)} names, {len(site.places)} places, {len(site.safe)} safe words -> {dst}")

    @app.command("deid")
    @user_errors
    def deid(
        paths: list[Path] = typer.Argument(..., help=".txt/.jsonl files or folders to de-identify"),
        out: Path = typer.Option(..., "--out", "-o", help="output folder (mirrors the input layout)"),
        mode: str = typer.Option("surrogate", help="redact | tag | surrogate | shift (dates only)"),
        vault: Path | None = typer.Option(
            None, help="re-identification vault (SQLite, mode 0600); default $MEDLLM_HOME/vault.sqlite"
        ),
        no_vault: bool = typer.Option(False, "--no-vault", help="keep the mapping in memory only"),
        session: str | None = typer.Option(None, help="vault session id (default: continue the one "
                                                      "an interrupted run into --out used)"),
        seed: int | None = typer.Option(None, help="seed for surrogates (repeatable output)"),
        fields: str | None = typer.Option(None, help="jsonl: comma-separated keys to scrub (default: all strings)"),
        patient_field: str | None = typer.Option(None, help="jsonl: key holding a patient id (one date offset per patient)"),
        site_lexicon: Path | None = typer.Option(None, help="site lexicon JSON (staff names, local places) from "
                                                            "`medllm deid-learn`; default $MEDLLM_HOME/site_lexicon.json if any"),
        force: bool = typer.Option(False, help="redo files an earlier run finished"),
        operating_point: str | None = typer.Option(
            None, "--operating-point", help="recall (fewer leaks) | balanced (fewer clinical words "
            "masked); default: the deid_operating_point setting (recall)"),
        runner: str = typer.Option("local", help="local (this process) or ray (PHI detection on Ray "
                                   "workers; same output): `pip install 'medllm[ray]'`"),
        ray_address: str | None = typer.Option(None, help="ray: 'auto' or ray://HOST:10001; default: "
                                               "a local Ray cluster for this command"),
        workers: int | None = typer.Option(None, help="ray: worker processes (one detector each)"),
    ) -> None:
        """De-identify notes: PHI found by Presidio + clinical recognizers, replaced per --mode.
        Writes each input to the same relative path under --out and prints per-category counts
        and throughput. Interrupted runs continue where they stopped when started again."""
        from rich.table import Table

        from medllm.config import DEID_OPERATING_POINTS
        from medllm.runners import get_runner
        from medllm.runners.deid import DeidJob
        from medllm.trust.privacy import MODES, SiteLexicon
        from medllm.session import Session
        from medllm.trust.privacy.batch import collect_inputs, ledger_session
        from medllm.trust.recognizers import PHI_LABELS

        if mode not in MODES:
            raise UserError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
        try:
            tasks = collect_inputs(paths)
        except ValueError as e:
            raise UserError(str(e)) from None
        out_root = out.resolve()
        for t in tasks:
            if t.src.resolve() == out_root or out_root in t.src.resolve().parents:
                raise UserError(f"--out {out} contains the input {t.src}; choose a separate folder")
        for p in paths:
            if p.is_dir() and p.resolve() == out_root:
                raise UserError("--out is the input folder; refusing to overwrite the input")
        keys = {k.strip() for k in fields.split(",")} if fields else None
        parts = Session.configure()  # (`session` is the --session option: the vault session id)
        point = operating_point or parts.settings.deid_operating_point
        if point not in DEID_OPERATING_POINTS:
            raise UserError(f"--operating-point {point!r}: use {' or '.join(DEID_OPERATING_POINTS)}")
        vault_path = None if no_vault else (vault or parts.vault_path)
        session_id = session or (None if force or no_vault else ledger_session(out_root))
        site = SiteLexicon.load(site_lexicon) if site_lexicon else None
        try:
            run = get_runner(runner, address=ray_address, workers=workers)
        except ValueError as e:
            raise UserError(str(e)) from None
        with progress_bar("deid") as bar:
            task = bar.add_task("deid", total=len(tasks))
            job = DeidJob(tasks, out_root, mode=mode, vault=vault_path, session_id=session_id, seed=seed,
                          fields=keys, patient_field=patient_field, site=site, force=force, session=parts,
                          operating_point=point,
                          progress=lambda done, total: bar.update(task, completed=done))
            rep = run.run(job)
        gate = job.gate
        table = Table(title=f"PHI replaced ({mode})")
        table.add_column("category")
        table.add_column("count", justify="right")
        for label in PHI_LABELS:
            if rep.counts.get(label):
                table.add_row(label, str(rep.counts[label]))
        table.add_row("[bold]total", f"[bold]{sum(rep.counts.values())}")
        console.print(table)
        head = f"{rep.done} file(s) written to {out}"
        if rep.skipped:
            head += f", {rep.skipped} skipped (finished by an earlier run; --force to redo)"
        vault_note = (f"vault {vault_path} session {gate.session.id}"
                      if vault_path is not None and mode in ("surrogate", "shift") else "")
        stats = run.last
        runner_note = (f"ray: {stats.workers} worker(s), {stats.wall_seconds:.1f} s wall "
                       f"({stats.startup_seconds:.1f} s starting)" if stats and stats.runner == "ray" else "")
        print_batch_report(head, chars=rep.chars, seconds=rep.seconds,
                           notes=[f"{point} operating point", vault_note, runner_note],
                           failed=rep.failed)
