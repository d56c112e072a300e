"""``tunelab import``: bring an Auptimizer history (``.aup/sqlite3.db``) into tunelab.

Each Auptimizer experiment becomes a tunelab experiment with status ``imported`` and all
its jobs, attempts, results, extra and intermediate values. A new experiment learns from
it with ``"history_from": ["<name>"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tunelab import storage as st
from tunelab.cli._common import StorageOption, open_storage

app = typer.Typer()


def _spec(name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal spec describing the imported jobs (their parameters as constants are unknown)."""
    names = sorted({k for r in records for k in r["config"]})
    return {"name": name, "imported_from": "auptimizer", "target": records[0]["target"],
            "parameter_config": [{"name": n} for n in names]}


def import_records(store: st.Storage, name: str, records: list[dict[str, Any]]) -> int:
    """Record Auptimizer jobs as experiment ``name``; returns the number of jobs."""
    experiment = store.create_experiment(name, _spec(name, records), seed=0)
    for number, record in enumerate(records):
        job = store.add_job(experiment.id, number, record["config"], record.get("budget"),
                            {"imported": "auptimizer", "aup_job_id": record["job_id"]})
        attempt = store.start_attempt(job, 1, {"imported": "auptimizer"}, "")
        for seq, (step, value) in enumerate(record.get("intermediate") or []):
            store.add_intermediate(job, attempt, seq, step, value)
        status = record["status"]
        store.end_attempt(job, attempt, job_status=status, attempt_status=status, value=record.get("score"),
                          extra=record.get("extra") or {},
                          error=None if status == st.FINISHED else "imported from Auptimizer")
    store.set_experiment_status(experiment.id, "imported", f"{len(records)} jobs imported from Auptimizer")
    return len(records)


@app.command("import")
def import_history(
    database: Annotated[Path, typer.Argument(help="Auptimizer's database, usually .aup/sqlite3.db.")],
    storage: StorageOption = None,
    experiment: Annotated[str | None, typer.Option(help="Only this Auptimizer experiment (eid or name).")] = None,
    name: Annotated[str | None, typer.Option(help="Name for the imported experiment (one experiment only).")] = None,
) -> None:
    """Import Auptimizer's job history; seed new searches with `history_from`."""
    from tunelab.formats.aup_history import read_aup_history

    records = read_aup_history(database, experiment=experiment)
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(f"aup-{record['experiment_id']}-{Path(record['experiment']).stem}", []).append(record)
    if name and len(groups) > 1:
        raise typer.BadParameter(f"{len(groups)} experiments found; pick one with --experiment", param_hint="--name")
    store = open_storage(storage)
    try:
        for default, group in groups.items():
            count = import_records(store, name or default, group)
            typer.echo(f"imported {count} jobs as {name or default!r}")
    finally:
        store.close()
