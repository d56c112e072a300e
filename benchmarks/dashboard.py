"""How the dashboard copes with a large experiment: time to first render, the size of one
live update, and how long sorting, filtering and plots take, in Debian's Chromium.

Builds a finished-looking experiment of N jobs (default 10,000; five intermediate values
each) in a fresh SQLite file, serves it with the real dashboard server on a free loopback
port, opens it in headless Chromium through Playwright, then records one more job result
through the storage API as the engine would and measures the update the page receives.

Run: ``python benchmarks/dashboard.py [--jobs 10000]`` (needs the ``test`` extra and
``/usr/bin/chromium``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import insert, update

from tunelab.dashboard import DashboardData, DashboardServer
from tunelab.storage import Storage
from tunelab.storage import _schema as s

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SPEC = {"name": "big", "proposer": "random", "n_samples": None, "target": "min", "parameter_config": [
    {"name": "lr", "type": "float", "range": [1e-5, 1e-1], "log": True},
    {"name": "layers", "type": "int", "range": [1, 8]},
    {"name": "opt", "type": "choice", "range": ["adam", "sgd", "rmsprop"]},
    {"name": "dropout", "type": "float", "range": [0.0, 0.5]}]}


def build(store: Storage, n_jobs: int, rng: random.Random) -> int:
    """An experiment of ``n_jobs`` finished jobs (one attempt, five intermediate values
    each), written in bulk; returns its id. The last job is left running."""
    spec = {**SPEC, "n_samples": n_jobs}
    exp = store.create_experiment("big", spec, 0)
    now = time.time() - n_jobs
    jobs, attempts, points = [], [], []
    for number in range(n_jobs):
        config = {"lr": 10 ** rng.uniform(-5, -1), "layers": rng.randint(1, 8),
                  "opt": rng.choice(["adam", "sgd", "rmsprop"]), "dropout": rng.uniform(0, 0.5)}
        value = abs(config["lr"] * 100 - 0.3) + config["dropout"] + rng.gauss(0, 0.05)
        job_id = number + 1
        running = number == n_jobs - 1
        jobs.append({"id": job_id, "experiment_id": exp.id, "number": number, "config": json.dumps(config),
                     "budget": None, "status": "running" if running else "finished",
                     "value": None if running else value, "extra": json.dumps({"acc": 1 - value}), "info": "{}",
                     "created": now + number, "ended": None if running else now + number + 0.9,
                     "attempt_id": job_id, "rev": job_id})
        attempts.append({"id": job_id, "job_id": job_id, "number": 1, "status": jobs[-1]["status"],
                         "resource": json.dumps({"slot": number % 4}), "folder": None, "started": now + number,
                         "ended": jobs[-1]["ended"], "host": "bench"})
        points += [{"job_id": job_id, "attempt_id": job_id, "seq": k, "step": k, "value": value + 1 / (k + 1),
                    "time": now + number} for k in range(5)]
    with store.engine.begin() as conn:
        conn.execute(insert(s.jobs), jobs)
        conn.execute(insert(s.attempts), attempts)
        conn.execute(insert(s.intermediate), points)
        conn.execute(update(s.experiments).where(s.experiments.c.id == exp.id).values(rev=n_jobs))
    return exp.id


def measure(n_jobs: int) -> list[tuple[str, str]]:
    """Build, serve, open and time; the table's rows."""
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = Storage(url)
        started = time.perf_counter()
        experiment = build(store, n_jobs, random.Random(0))
        rows.append(("jobs in the experiment", f"{n_jobs:,}"))
        rows.append(("building it (bulk insert)", f"{time.perf_counter() - started:.1f} s"))
        server = DashboardServer(DashboardData(Storage(url)), "127.0.0.1", 0, None)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            sizes: dict[str, int] = {}
            page.on("response", lambda r: sizes.__setitem__(r.url, int(r.headers.get("content-length", 0) or 0)))
            page.goto(base)
            page.wait_for_selector("#experiments tbody tr[data-experiment]")
            started = time.perf_counter()
            page.goto(f"{base}#/e/{experiment}")
            page.wait_for_selector("#jobs tbody tr[data-job]")
            rows.append(("first render of the experiment page (server cold)",
                         f"{(time.perf_counter() - started) * 1000:.0f} ms"))
            jobs_url = f"{base}api/experiments/{experiment}/jobs"
            rows.append(("job rows sent once (gzip)", f"{sizes.get(jobs_url, 0) / 1024:.0f} KiB"))
            page.reload()
            started = time.perf_counter()
            page.wait_for_selector("#jobs tbody tr[data-job]")
            rows.append(("first render again (server warm)", f"{(time.perf_counter() - started) * 1000:.0f} ms"))
            for what, action in (("sort 10,000 rows by result", lambda: page.click("th[data-col=value]")),
                                 ("filter by a parameter (opt = sgd)",
                                  lambda: page.fill("input[data-filter='p:opt']", "sgd"))):
                started = time.perf_counter()
                action()
                page.wait_for_selector("#jobs tbody tr[data-job]")
                rows.append((what, f"{(time.perf_counter() - started) * 1000:.0f} ms"))
            page.fill("input[data-filter='p:opt']", "")
            page.click("th[data-col=number]")
            page.click("th[data-col=number]")
            last = n_jobs
            seen = []
            page.on("response", lambda r: seen.append(r) if "/changes?" in r.url else None)
            attempt = last
            started = time.perf_counter()
            store.end_attempt(last, attempt, job_status="finished", attempt_status="finished", value=0.01)
            page.wait_for_selector(f"tr[data-job='{last}'][data-status=finished]", timeout=10_000)
            rows.append(("a finished job shown after it was recorded",
                         f"{(time.perf_counter() - started) * 1000:.0f} ms"))
            update_body = next(r for r in reversed(seen) if json.loads(r.body())["jobs"]).body()
            rows.append(("size of that update (one changed job)", f"{len(update_body):,} bytes"))
            page.wait_for_timeout(1500)
            idle = next(r for r in reversed(seen) if not json.loads(r.body())["jobs"]).body()
            rows.append(("size of an update with nothing new", f"{len(idle):,} bytes"))
            for kind in ("history", "parallel", "importance", "timeline"):
                started = time.perf_counter()
                page.click(f".tab[data-tab={kind}]")
                page.wait_for_selector(f"#plot-{kind} canvas")
                page.wait_for_load_state("networkidle")
                rows.append((f"{kind} plot drawn", f"{(time.perf_counter() - started) * 1000:.0f} ms"))
            browser.close()
        server.shutdown()
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    rows = measure(parser.parse_args().jobs)
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
