"""``$TUNELAB_RESOURCE`` and ``$TUNELAB_SCHEDULER`` place ``tunelab run`` as ``--resource``
and ``--scheduler`` do, and an error names what the user set."""

from __future__ import annotations

import socket

from tests.conftest import tunelab, write_experiment

SPACE = [{"name": "x", "type": "float", "range": [-3, 3]}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one_line_exit_2(out, *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in out.stderr, out.stderr


def test_the_scheduler_variable_places_tunelab_run_on_dask(workdir, storage_url, script):
    script("print('#Auptimizer:1')")
    exp = write_experiment(workdir, name="placed", script="train.py", n_samples=2, parameter_config=SPACE,
                           resource_args={"worker_timeout": 3})
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tunelab("run", str(exp), "--storage", storage_url, env={"TUNELAB_SCHEDULER": address})
    _one_line_exit_2(out, f"cannot reach the Dask scheduler at {address}")
    out = tunelab("run", str(exp), "--storage", storage_url, "--resource", "cpu",
                  env={"TUNELAB_SCHEDULER": address})
    _one_line_exit_2(out, "--resource: $TUNELAB_SCHEDULER runs on Dask, so --resource must be dask, got 'cpu'")
    assert "not found" in tunelab("show", "placed", "--storage", storage_url).stderr, "nothing recorded"
