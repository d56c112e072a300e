"""Every mistake on the command line is one masked ``error:`` line and exit code 2."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import tunelab, tunelab_inprocess
from tunelab import api
from tunelab.masking import mask
from tunelab.storage import Storage

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql+psycopg://bob:s3cr3t@db:5432/x", "postgresql+psycopg://bob:***@db:5432/x"),
    ("mysql+pymysql://root:p@ss@h/db", "mysql+pymysql://root:***@h/db"),
    ("connect to 'postgresql://u:pw@h/db' failed", "connect to 'postgresql://u:***@h/db' failed"),
    ("host=h user=u password=pw dbname=x", "host=h user=u password=*** dbname=x"),
    ("sqlite:///a/b.db?password=zz&mode=ro", "sqlite:///a/b.db?password=***&mode=ro"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("mysql+pymysql://root@localhost/x", "mysql+pymysql://root@localhost/x"),
])
def test_mask_hides_every_password_form(text, expected):
    assert mask(text) == expected


def _one_line(out, *words):
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


USAGE = {
    "bad int option": (["run", "x.json", "--seed", "abc"], ["--seed", "'abc'", "tunelab run --help"]),
    "bad int option with =": (["run", "x.json", "--seed=abc"], ["--seed", "'abc'"]),
    "unknown command": (["frobnicate"], ["frobnicate", "tunelab --help"]),
    "bad choice": (["export", "e", "--format", "xml"], ["--format", "'xml'", "csv", "json"]),
    "unknown option": (["ls", "--colour"], ["--colour", "tunelab ls --help"]),
    "missing argument": (["show"], ["experiment", "tunelab show --help"]),
    "option without value": (["ls", "--storage"], ["--storage"]),
}


@pytest.mark.parametrize("case", sorted(USAGE))
def test_usage_errors_are_one_line(workdir, case):
    argv, words = USAGE[case]
    _one_line(tunelab_inprocess(*argv), *words)


def test_usage_error_in_a_real_process_is_the_same_line(workdir):
    argv = ["export", "e", "--format", "xml"]
    real = tunelab(*argv)
    assert real.returncode == 2 and real.stderr == tunelab_inprocess(*argv).stderr


@pytest.mark.parametrize("url", [f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:9/db",
                                 f"mysql+pymysql://root:{SECRET}@127.0.0.1:9/db",
                                 f"postgresql+psycopg://nobody:{SECRET}@127.0.0.1:5432/nodb"])
@pytest.mark.parametrize("command", [["ls"], ["show", "e"], ["export", "e"], ["resume", "e"]])
def test_storage_password_is_never_printed(workdir, url, command):
    out = tunelab_inprocess(*command, "--storage", url)
    line = _one_line(out, "--storage", "***")
    assert SECRET not in out.stdout + out.stderr, line


def test_password_in_environment_url_is_masked_in_a_real_process(workdir):
    url = f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:9/db"
    out = tunelab("ls", env={"TUNELAB_STORAGE": url})
    _one_line(out, "$TUNELAB_STORAGE", "bob:***@")
    assert SECRET not in out.stderr


def _foreign(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE jobs (id INTEGER, payload TEXT)")
        conn.execute("INSERT INTO jobs VALUES (1, 'theirs')")
    return path


def test_bad_storage_urls(workdir):
    (workdir / "junk.db").write_text("not a database\n")
    _foreign(workdir / "other.db")
    cases = {
        "": ["--storage", "''", "names no database"],
        "sqlite://": ["'sqlite://'", "sqlite:///path/to/tunelab.db"],
        "sqlite:///": ["'sqlite:///'", "names no database"],
        f"sqlite:///{workdir / 'junk.db'}": ["junk.db", "not a database"],
        f"sqlite:///{workdir / 'other.db'}": ["other.db", "another program", "jobs"],
        f"sqlite:///{workdir}": ["is a folder", "tunelab.db"],
        "nonsense": ["'nonsense'", "sqlite:///path/to/db"],
    }
    for url, words in cases.items():
        _one_line(tunelab_inprocess("ls", "--storage", url), *words)
    with sqlite3.connect(workdir / "other.db") as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("jobs",)]
        assert conn.execute("SELECT * FROM jobs").fetchall() == [(1, "theirs")]
    assert not (workdir / ".tunelab").exists()


def test_export_into_a_missing_folder(workdir, storage_url):
    store = Storage(storage_url)
    api.create({"name": "e", "command": ["true"], "n_samples": 1,
                "parameter_config": [{"name": "x", "range": [0, 1]}]}, store)
    store.close()
    _one_line(tunelab_inprocess("export", "e", "--storage", storage_url, "-o", str(workdir / "no" / "x.csv")),
              "no/x.csv")
    assert not (workdir / "no").exists()
