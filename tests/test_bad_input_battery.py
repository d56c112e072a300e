"""The battery: every bad input of ``tests/bad_inputs.py`` is exit code 2, one ``error:``
line naming what the row says, no traceback, and the database unchanged.

Rows run in this process through the CLI's entry point (``tunelab.cli.main(argv)``), so
the whole battery takes seconds; a few rows also run as real ``tunelab`` processes to
prove the same holds end to end. Rows about PostgreSQL run on the real server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
import yaml

from tests import bad_inputs as b
from tests.conftest import POSTGRES, fresh_database, tunelab, tunelab_inprocess, write
from tunelab.storage import Storage


def _snapshot(url: str) -> dict:
    """What the storage holds: every experiment, job and attempt row."""
    store = Storage(url)
    try:
        return {"experiments": [(e.id, e.name, e.status, e.rev, json.dumps(e.spec, sort_keys=True))
                                for e in store.experiments()],
                "jobs": [(j.id, j.status, j.value, len(j.attempts)) for e in store.experiments()
                         for j in store.jobs(e.id)]}
    finally:
        store.close()


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with a script, odd files and a storage that holds one finished experiment."""
    folder = tmp_path_factory.mktemp("battery")
    write(folder / "train.py", "print('#Auptimizer:0.5')\n")
    write(folder / "plain.sh", "echo '#Auptimizer:0.5'\n")
    (folder / "sub").mkdir()
    (folder / "junk.db").write_text("not a database\n")
    with sqlite3.connect(folder / "other.db") as conn:
        conn.execute("CREATE TABLE jobs (id INTEGER)")
    (folder / "space.json").write_text(json.dumps({"x": {"_type": "uniform", "_value": [0, 1]}}))
    (folder / "broken.json").write_text("{")
    (folder / "good.json").write_text(json.dumps({**b.GOOD, "name": "good"}))
    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        kept = folder / "kept.json"
        kept.write_text(json.dumps({**b.GOOD, "name": "kept"}))
        out = tunelab_inprocess("run", str(kept), "--storage", url, "--plain")
        assert out.returncode == 0, out.stderr
    finally:
        os.chdir(cwd)
    return folder, url, _snapshot(url)


@pytest.fixture
def at(place, monkeypatch):
    folder, url, before = place
    monkeypatch.chdir(folder)
    for name in ("TUNELAB_STORAGE", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    return place


def _fill(arg: str, folder: Path, url: str) -> str:
    return (arg.replace("{dir}", str(folder)).replace("{storage}", url)
            .replace("{pg_secret}", f"postgresql+psycopg://bob:{b.SECRET}@127.0.0.1:9/db"))


def assert_refused(out, row: b.Row, folder: Path) -> None:
    """Exit code 2, one ``error:`` line with the row's words, no traceback, no secret."""
    text = out.stdout + out.stderr
    assert out.returncode == 2, (row.id, out.returncode, text)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (row.id, out.stderr)
    assert "Traceback" not in text and b.SECRET not in text, (row.id, text)
    for word in row.words:
        assert _fill(word, folder, "") in lines[0], (row.id, word, lines[0])


def _write_row(row: b.Row, folder: Path) -> Path:
    path = folder / row.filename
    if isinstance(row.input, bytes):
        path.write_bytes(row.input)
    elif isinstance(row.input, str):
        path.write_text(row.input, encoding="utf-8")
    else:
        path.write_text(json.dumps(row.input), encoding="utf-8")
    return path


@pytest.mark.parametrize("row", b.FILE_ROWS, ids=lambda r: r.id)
def test_bad_experiment_file(at, row):
    folder, url, before = at
    path = _write_row(row, folder)
    commands = [] if row.run_only else [["validate", str(path)]]
    commands.append(["run", str(path), "--storage", url, "--plain"])
    for argv in commands:
        assert_refused(tunelab_inprocess(*argv), row, folder)
    assert _snapshot(url) == before


@pytest.mark.parametrize("row", b.NNI_ROWS, ids=lambda r: r.id)
def test_bad_nni_config(at, row):
    folder, url, before = at
    path = folder / "nni.yml"
    path.write_text(yaml.safe_dump(row.input), encoding="utf-8")
    for argv in (["validate", str(path)], ["run", str(path), "--storage", url, "--plain"]):
        assert_refused(tunelab_inprocess(*argv), row, folder)
    assert _snapshot(url) == before


@pytest.mark.parametrize("row", b.ARGV_ROWS, ids=lambda r: r.id)
def test_bad_command_line(at, row):
    folder, url, before = at
    assert_refused(tunelab_inprocess(*[_fill(a, folder, url) for a in row.input]), row, folder)
    assert _snapshot(url) == before
    assert not (folder / "no").exists() and not (folder / "i.json").exists()


@pytest.mark.parametrize("row", b.ENV_ROWS, ids=lambda r: r.id)
def test_bad_storage_environment(at, monkeypatch, row):
    folder, url, before = at
    monkeypatch.setenv("TUNELAB_STORAGE", _fill(row.input, folder, url))
    assert_refused(tunelab_inprocess("ls"), row, folder)
    assert not (folder / ".tunelab").exists()


def test_the_battery_is_large_enough():
    assert len(b.ALL_ROWS) >= 200
    assert len({r.id for r in b.ALL_ROWS}) == len(b.ALL_ROWS)


REAL_PROCESS_ROWS = ["script missing .py", "invalid UTF-8", "name[1]='a\\x00b'", "nni trialConcurrency=0"]


@pytest.mark.parametrize("row_id", REAL_PROCESS_ROWS)
def test_rows_hold_in_a_real_process(at, row_id):
    """End to end: the installed command answers these rows exactly as the in-process runs do."""
    folder, url, before = at
    row = next(r for r in b.FILE_ROWS + b.NNI_ROWS if r.id == row_id)
    if row in b.NNI_ROWS:
        path = folder / "nni.yml"
        path.write_text(yaml.safe_dump(row.input), encoding="utf-8")
    else:
        path = _write_row(row, folder)
    argv = ["run", str(path), "--storage", url, "--plain"]
    real = tunelab(*argv, cwd=folder)
    assert_refused(real, row, folder)
    assert real.stderr == tunelab_inprocess(*argv).stderr
    assert _snapshot(url) == before


def test_argv_rows_hold_in_a_real_process(at):
    folder, url, before = at
    for row in (r for r in b.ARGV_ROWS if r.id in ("--seed abc", "--storage password, server down")):
        assert_refused(tunelab(*[_fill(a, folder, url) for a in row.input], cwd=folder), row, folder)
    assert _snapshot(url) == before


@pytest.fixture(scope="module")
def postgres():
    url, drop = fresh_database(POSTGRES)
    store = Storage(url)
    store.close()
    yield url
    drop()


@pytest.mark.parametrize("row", b.POSTGRES_ROWS, ids=lambda r: r.id)
def test_bad_input_on_postgres(at, postgres, row):
    folder, url, before = at
    path = _write_row(row, folder)
    assert_refused(tunelab_inprocess("run", str(path), "--storage", postgres, "--plain"), row, folder)
    assert _snapshot(postgres)["experiments"] == []


def test_main_keeps_no_state_between_calls(at):
    """The in-process runs are faithful only if ``main`` leaks nothing from one call to the next."""
    folder, url, before = at
    from tunelab.cli import app

    commands = [info.name for info in app.registered_commands]
    first = tunelab_inprocess("ls", "--storage", url)
    tunelab_inprocess("frobnicate")
    tunelab_inprocess("ls", "--storage", "")
    again = tunelab_inprocess("ls", "--storage", url)
    assert first.returncode == again.returncode == 0 and first.stdout == again.stdout
    assert [info.name for info in app.registered_commands] == commands
    assert stat.S_ISDIR(os.stat(folder).st_mode)
