"""tunelab.compat.aup: Auptimizer scripts with one import changed, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED, write
from tunelab import _protocol as protocol
from tunelab.compat.aup import BasicConfig


def _run(script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    return subprocess.run([sys.executable, str(script), *args], cwd=script.parent, capture_output=True, text=True,
                          timeout=60, env={**clean, **(env or {})})


def test_basic_config_load_save_and_attributes(tmp_path: Path) -> None:
    config = BasicConfig(x=1)
    config.y = 2.5
    assert (config.x, config["y"]) == (1, 2.5)
    config.save(str(tmp_path / "c.json"))
    assert BasicConfig().load(str(tmp_path / "c.json")) == {"x": 1, "y": 2.5}
    loaded = BasicConfig().load(str(SHARED / "seed-examples" / "auptimizer" / "hpo_mnist" / "demo.json"))
    assert loaded.learning_rate == 0.01
    del config.y
    assert "y" not in config
    with pytest.raises(AttributeError):
        _ = config.missing
    with pytest.raises(ValueError, match="pickle"):
        BasicConfig().load(str(tmp_path / "c.pkl"))


def test_print_result_prints_only_the_auptimizer_line(tmp_path: Path) -> None:
    script = write(tmp_path / "s.py", """
        import sys
        from tunelab.compat.aup import BasicConfig, print_result
        config = BasicConfig().load(sys.argv[1])
        print_result(config.x * 2)
        print_result([1.5, 2, 3])
    """)
    (tmp_path / "c.json").write_text(json.dumps({"x": 3}))
    events = tmp_path / "events.jsonl"
    out = _run(script, "c.json", env={protocol.ENV_REPORT_FILE: str(events)})
    assert out.returncode == 0, out.stderr
    assert "#Auptimizer:6\n" in out.stderr and "#Auptimizer:1.5,2,3" in out.stderr
    assert not events.exists()  # the printed line is the report, read as Auptimizer reads it
    line = next(line for line in out.stderr.splitlines() if line.startswith("#Auptimizer:1.5"))
    report = protocol.parse_line(line, ["a", "b"])
    assert (report.value, report.extra) == (1.5, {"a": 2.0, "b": 3.0})


def test_aup_args_calls_init_functions_first_and_saves_the_model(tmp_path: Path) -> None:
    script = write(tmp_path / "s.py", """
        import sys
        from tunelab.compat.aup import aup_args, aup_save_model
        CALLS = []

        def init_a(**config):
            CALLS.append(("init_a", config["x"]))

        def b_initializer(**config):
            CALLS.append(("b_initializer", config["x"]))

        def save(name):
            with open(name, "w") as handle:
                handle.write(repr(CALLS))

        @aup_args
        def main(x, y=10):
            CALLS.append(("main", x, y))
            aup_save_model(save, "model.txt")
            return x + y

        if __name__ == "__main__":
            main(sys.argv[1])
    """)
    (tmp_path / "c.json").write_text(json.dumps({"x": 1, "unused": 5, "save_model": True, "folder_name": "best"}))
    out = _run(script, "c.json")
    assert out.returncode == 0, out.stderr
    assert "#Auptimizer:11" in out.stderr
    saved = (tmp_path / "aup_models" / "best" / "model.txt").read_text()
    assert saved == "[('b_initializer', 1), ('init_a', 1), ('main', 1, 10)]"


def test_aup_args_uses_tunelab_model_dir_and_rejects_missing_values(tmp_path: Path) -> None:
    script = write(tmp_path / "s.py", """
        import sys
        from tunelab.compat.aup import aup_args, aup_save_model

        def save():
            open("weights.bin", "w").write("w")

        @aup_args
        def main(x):
            aup_save_model(save)
            return x

        main(sys.argv[1])
    """)
    (tmp_path / "c.json").write_text(json.dumps({"x": 2}))
    out = _run(script, "c.json", env={protocol.ENV_MODEL_DIR: str(tmp_path / "model")})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "model" / "weights.bin").exists()
    (tmp_path / "c.json").write_text(json.dumps({"y": 2}))
    out = _run(script, "c.json")
    assert out.returncode != 0 and "`x` is required by main()" in out.stderr


def test_compat_modules_stay_light() -> None:
    code = ("import sys, tunelab.compat.aup, tunelab.compat.nni, tunelab.compat.nni_annotation; "
            "print(sorted(m for m in ('numpy', 'sqlalchemy', 'typer', 'pydantic', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
