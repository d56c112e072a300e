"""The dashboard's reads on each storage back-end, and its command line's mistakes."""

from __future__ import annotations

import socket
from importlib import resources

import pytest

from tests.conftest import fresh_database, tunelab
from tests.storage_tests.test_storage_contract import SERVERS
from tunelab.analysis import ECHARTS_VERSION
from tunelab.control import NoEngine
from tunelab.dashboard import DashboardData
from tunelab.dashboard._server import STATIC
from tunelab.storage import Storage


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    fresh, drop = fresh_database(SERVERS[request.param])
    yield fresh
    drop()


def _job(store, exp, number, value):
    job = store.add_job(exp.id, number, {"x": number / 10, "opt": "<b>adam</b>"}, None, {})
    attempt = store.start_attempt(job, 1, {"slot": number % 2}, "/nonexistent", host="h1")
    store.add_intermediate(job, attempt, 0, 0, value * 2)
    store.end_attempt(job, attempt, job_status="finished", attempt_status="finished", value=value,
                      extra={"acc": 1 - value})
    return job


def test_lists_jobs_follows_changes_and_plots_on_every_backend(url):
    store = Storage(url)
    exp = store.create_experiment("e", {"target": "min", "n_samples": 5, "proposer": "random",
                                        "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}]}, 0)
    data = DashboardData(store)
    try:
        for number, value in enumerate([0.5, 0.2, 0.4, 0.3]):
            _job(store, exp, number, value)
        [summary] = data.experiments()
        assert summary["counts"] == {"finished": 4} and summary["best"] == 0.2 and summary["engine"] is False
        first = data.jobs(exp.id)
        assert [r["value"] for r in first["jobs"]] == [0.5, 0.2, 0.4, 0.3]
        assert first["jobs"][0]["host"] == "h1" and first["jobs"][1]["slot"] == 1
        assert data.changes(exp.id, first["rev"])["jobs"] == []
        newest = _job(store, exp, 4, 0.1)
        update = data.changes(exp.id, first["rev"])
        assert [r["id"] for r in update["jobs"]] == [newest] and update["rev"] > first["rev"]
        assert data.experiment(exp.id)["best"]["result"] == 0.1
        history = data.plot(exp.id, "history")
        assert history["series"][1]["data"][-1] == [4, 0.1]
        detail = data.job(newest)
        assert detail["intermediate"] == [[0, 0.2]] and detail["stdout"] is None
        with pytest.raises(NoEngine, match="no engine is running 'e'"):
            data.stop(exp.id, None, cancel=False)
    finally:
        store.close()


def test_a_taken_port_is_one_line_exit_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = tunelab("dashboard", "--port", str(port), "--storage", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"error: --port: cannot serve on 127.0.0.1:{port}")


def test_every_static_file_ships_in_the_package():
    root = resources.files("tunelab.dashboard").joinpath("static")
    for name, _ in STATIC.values():
        assert root.joinpath(*name.split("/")).is_file(), name
    assert f"Apache ECharts {ECHARTS_VERSION}" in root.joinpath("vendor", "README.md").read_text(encoding="utf-8")
