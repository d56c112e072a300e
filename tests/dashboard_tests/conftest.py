"""A real dashboard over real experiments, driven by Debian's Chromium through Playwright.

One session-wide site: a finished experiment whose name and config values are crafted
HTML, a running experiment whose jobs finish every second or so, a running
experiment of long jobs to stop from the page, and a passive one waiting for scores; the dashboard serves them on a free
loopback port. Every page a test opens records its console errors and requests, and the
test fails if any console error was logged or any request left loopback.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import start_run, tunelab, wait_finished, write, write_experiment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

CRAFTED_NAME = '<img src=x onerror="window.__xss=1">'
CRAFTED_CHOICE = "<script>window.__xss=2</script>"

TRAIN = """
import sys, time
from tunelab import trial
c = trial.load_config()
for step in range(4):
    time.sleep(c["t"] / 4)
    if trial.report_intermediate(c["t"] * (4 - step), step=step):
        sys.exit(0)
print("stdout says <b>hello</b>")
trial.report(c["t"] + (0.5 if c["opt"] == "sgd" else 0.0), loss=c["t"] * 2)
"""


@dataclass
class Site:
    """The experiments and the dashboard serving them."""

    url: str
    storage: str
    ids: dict[str, int] = field(default_factory=dict)
    runs: dict[str, subprocess.Popen] = field(default_factory=dict)


def _experiment(folder: Path, name: str, t: tuple[float, float], n_samples: int, **extra: Any) -> Path:
    return write_experiment(folder, f"{abs(hash(name))}.json", name=name, script="train.py", proposer="random",
                            n_samples=n_samples, n_parallel=2, target="min", **extra, parameter_config=[
                                {"name": "t", "type": "float", "range": list(t)},
                                {"name": "opt", "type": "choice", "range": ["adam", "sgd", CRAFTED_CHOICE]}])


def start_dashboard(storage: str, *args: str) -> tuple[subprocess.Popen, str]:
    """``tunelab dashboard`` on a free port; the process and the URL it printed. Its
    stderr goes to the test's stderr, so a server-side traceback shows in the report."""
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "dashboard", "--storage", storage, "--port", "0", *args],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"(http://\S+)", line)
    assert match, line
    return proc, match.group(1)


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """End a process this test started, by its own handle."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("dashboard")
    storage = f"sqlite:///{folder / 'tunelab.db'}"
    write(folder / "train.py", TRAIN)
    crafted = _experiment(folder, CRAFTED_NAME, (0.01, 0.05), 9, initial_configs=[{"t": 0.03, "opt": CRAFTED_CHOICE}])
    out = tunelab("run", str(crafted), "--storage", storage, cwd=folder)
    assert out.returncode == 0, out.stderr
    result = Site("", storage)
    try:
        for name, t, n in (("live", (0.5, 1.0), 400), ("long", (60.0, 61.0), 4)):
            result.runs[name] = start_run(_experiment(folder, name, t, n), storage, cwd=folder,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        by_hand = write_experiment(folder, "by-hand.json", name="by-hand", resource="passive", n_samples=2,
                                   parameter_config=[{"name": "lr", "type": "float", "range": [0.001, 0.1]}])
        result.runs["by-hand"] = start_run(by_hand, storage, cwd=folder, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_finished(storage, "live", 1, result.runs["live"])
        server, result.url = start_dashboard(storage)
        result.runs["dashboard"] = server
        from tunelab.storage import Storage

        store = Storage(storage)
        result.ids = {e.name: e.id for e in store.experiments()}
        store.close()
        yield result
    finally:
        for proc in result.runs.values():
            stop(proc)


@dataclass
class Watched:
    """A page, with what it logged and requested."""

    page: Any
    errors: list[str]
    requests: list[str]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `apt-get install -y chromium` (.ci/run installs it)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh page; after the test, no console error and no request off loopback."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    seen = Watched(page, [], [])
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    context.on("request", lambda r: seen.requests.append(r.url))
    yield seen
    context.close()
    assert seen.errors == []
    off = [u for u in seen.requests if urlsplit(u).scheme not in ("data", "blob")
           and urlsplit(u).hostname != "127.0.0.1"]
    assert seen.requests and off == []
