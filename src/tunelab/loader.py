"""Read an experiment file (JSON, YAML, TOML) in any supported format into the spec.

Foreign formats (NNI's config, ...) are translators in :mod:`tunelab.formats`; each
declares ``detect(data, path) -> bool`` and ``translate(data, path) -> dict`` returning
a native spec dict. The core never sees a foreign key.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunelab.exceptions import SpecError, UserError
from tunelab.spec import ExperimentSpec, parse_spec, resolve_paths

Detector = Callable[[dict[str, Any], Path], bool]
Translator = Callable[[dict[str, Any], Path], dict[str, Any]]

_FORMATS: list[tuple[str, Detector, Translator]] = []


def register_format(name: str, detect: Detector, translate: Translator) -> None:
    """Add a foreign format; the first whose ``detect`` accepts a document translates it."""
    _FORMATS.append((name, detect, translate))


def _load_formats() -> None:
    import tunelab.formats  # noqa: F401  (registers the built-in formats)


def read_document(path: Path) -> dict[str, Any]:
    """Parse a JSON, YAML or TOML file into a dict.

    Raises:
        UserError: missing file, unknown extension or a syntax error (with its line).
    """
    if not path.is_file():
        raise UserError(f"experiment file: {str(path)!r} does not exist; check the path")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"experiment file: {path.name} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                        f"offset {exc.start}); save it as UTF-8") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            raise UserError(f"experiment file: {path.name!r} has an unknown extension; use .json, .yaml, .yml or .toml")
    except UserError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"experiment file: {path.name} is not valid {suffix[1:].upper()}: {first}") from None
    if not isinstance(data, dict):
        raise UserError(f"experiment file: {path.name} must hold an object of keys, got {type(data).__name__}")
    return data


def translate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The native spec dict for a document of any registered format."""
    _load_formats()
    for _name, detect, translator in _FORMATS:
        if detect(data, path):
            return translator(data, path)
    return data


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read, translate and validate an experiment file.

    Raises:
        UserError: the file cannot be read; SpecError: it is invalid (every problem).
    """
    path = Path(path)
    data = translate(read_document(path), path)
    default_name = Path(path).stem
    spec = parse_spec(data, default_name=default_name)
    return resolve_paths(spec, path.resolve().parent)


__all__ = ["SpecError", "load_experiment", "read_document", "register_format", "translate"]
