"""NNI's annotation mode: search spaces written as string annotations in the script.

A script annotated for NNI::

    '''@nni.variable(nni.choice(16, 32, 64), name=units)'''
    units = 32
    '''@nni.function_choice(relu(x), tanh(x), name=act)'''
    y = relu(x)
    '''@nni.report_intermediate_result(loss)'''
    '''@nni.report_final_result(accuracy)'''

still runs on its own (the strings do nothing). :func:`search_space` reads the
annotations into an NNI search space (the name is the key: ``units``, ``act``), and
``python -m tunelab.compat.nni_annotation CONFIG SCRIPT [ARGS...]`` runs a rewritten
copy of the script, written next to ``CONFIG`` in the job folder, with the job's values
in place of the annotated right-hand sides and the report annotations turned into calls
of :mod:`tunelab.compat.nni`. The original script is never modified.

Choice options that are literals (``16``, ``"adam"``) stay values in the space; other
options (``tf.nn.relu``, function calls) are kept as their source text and evaluated in
the script. This module uses only the standard library.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab import _protocol as protocol

_NUMERIC = {"randint", "uniform", "quniform", "loguniform", "qloguniform", "normal", "qnormal", "lognormal",
            "qlognormal"}
_MODULE_ALIAS = "__tunelab_nni"


class AnnotationError(ValueError):
    """An annotation cannot be read; the message names the file and line."""


@dataclass
class _Annotation:
    """One ``'''@nni...'''`` string and the statement list that holds it."""

    kind: str
    body: list[ast.stmt]
    index: int
    call: ast.Call
    key: str = ""
    space: dict[str, Any] = field(default_factory=dict)
    options: list[ast.expr] = field(default_factory=list)
    as_source: bool = False
    """True when the space lists the options' source text, evaluated in the script."""


def _where(filename: str, node: ast.AST) -> str:
    return f"{filename}:{getattr(node, 'lineno', '?')}"


def _parse_annotation(text: str, filename: str, node: ast.AST) -> ast.Call:
    try:
        expr = ast.parse(text.strip()[1:], mode="eval").body
    except SyntaxError as exc:
        raise AnnotationError(f"{_where(filename, node)}: annotation is not valid Python: {exc.msg}") from None
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name) and expr.func.value.id == "nni"):
        raise AnnotationError(f"{_where(filename, node)}: expected '@nni.<name>(...)', got {text.strip()!r}")
    return expr


def _name_of(call: ast.Call, filename: str, node: ast.AST) -> str:
    for keyword in call.keywords:
        if keyword.arg == "name":
            return ast.unparse(keyword.value)
    raise AnnotationError(f"{_where(filename, node)}: @nni.{call.func.attr} needs `name=<variable>`")


def _literal_values(options: list[ast.expr]) -> list[Any] | None:
    try:
        return [ast.literal_eval(option) for option in options]
    except ValueError:
        return None


def _variable(ann: _Annotation, filename: str, node: ast.AST) -> None:
    if len(ann.call.args) != 1 or not isinstance(ann.call.args[0], ast.Call):
        raise AnnotationError(f"{_where(filename, node)}: expected @nni.variable(nni.<type>(...), name=x)")
    dist = ann.call.args[0]
    kind = dist.func.attr if isinstance(dist.func, ast.Attribute) else ""
    ann.key = _name_of(ann.call, filename, node)
    if kind == "choice":
        ann.options = list(dist.args)
        values = _literal_values(ann.options)
        ann.as_source = values is None
        ann.space = {"_type": "choice", "_value": [ast.unparse(option) for option in ann.options]
                     if ann.as_source else values}
    elif kind in _NUMERIC:
        values = _literal_values(list(dist.args))
        if values is None:
            raise AnnotationError(f"{_where(filename, node)}: nni.{kind} needs literal numbers")
        ann.space = {"_type": kind, "_value": values}
    else:
        raise AnnotationError(f"{_where(filename, node)}: unknown distribution nni.{kind}; "
                              f"use choice or one of {', '.join(sorted(_NUMERIC))}")


def _read(body: list[ast.stmt], index: int, filename: str) -> _Annotation | None:
    stmt = body[index]
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.strip().startswith("@nni.")):
        return None
    call = _parse_annotation(stmt.value.value, filename, stmt)
    ann = _Annotation(call.func.attr, body, index, call)
    if ann.kind == "variable":
        _variable(ann, filename, stmt)
    elif ann.kind == "function_choice":
        ann.key = _name_of(call, filename, stmt)
        ann.options, ann.as_source = list(call.args), True
        ann.space = {"_type": "choice", "_value": [ast.unparse(option) for option in call.args]}
    elif ann.kind not in ("report_intermediate_result", "report_final_result", "get_next_parameter"):
        raise AnnotationError(f"{_where(filename, stmt)}: @nni.{ann.kind} is not supported; tunelab reads "
                              f"variable, function_choice, report_intermediate_result and report_final_result")
    if ann.key and (index + 1 >= len(body) or not isinstance(body[index + 1], (ast.Assign, ast.AnnAssign, ast.Expr))):
        raise AnnotationError(f"{_where(filename, stmt)}: @nni.{ann.kind} must be followed by the statement it sets")
    return ann


def _bodies(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def _annotations(tree: ast.Module, filename: str) -> list[_Annotation]:
    found = []
    for body in list(_bodies(tree)):
        for index in range(len(body)):
            ann = _read(body, index, filename)
            if ann is not None:
                found.append(ann)
    return found


def _parse(source: str, filename: str) -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise AnnotationError(f"{filename}:{exc.lineno}: {exc.msg}") from None


def search_space(source: str, filename: str = "<script>") -> dict[str, Any]:
    """The NNI search space that a script's annotations describe.

    Raises:
        AnnotationError: a malformed or unsupported annotation, or a name used twice.
    """
    space: dict[str, Any] = {}
    for ann in _annotations(_parse(source, filename), filename):
        if not ann.key:
            continue
        if ann.key in space:
            raise AnnotationError(f"{filename}: the name {ann.key!r} is annotated twice; give each a unique name")
        space[ann.key] = ann.space
    if not space:
        raise AnnotationError(f"{filename}: no '''@nni.variable(...)''' annotation found; add one or set "
                              f"useAnnotation: false")
    return space


def _chosen(ann: _Annotation, value: Any) -> ast.expr:
    return ast.parse(str(value) if ann.as_source else repr(value), mode="eval").body


def _first_code_line(tree: ast.Module) -> int:
    """Index after the module docstring and ``from __future__`` imports."""
    for position, stmt in enumerate(tree.body):
        docstring = position == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        if not (docstring or isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
            return position
    return len(tree.body)


def _call(ann: _Annotation) -> ast.stmt:
    func = ast.Attribute(value=ast.Name(id=_MODULE_ALIAS, ctx=ast.Load()), attr=ann.kind, ctx=ast.Load())
    return ast.Expr(value=ast.Call(func=func, args=ann.call.args, keywords=[]))


def rewrite(source: str, filename: str, config: dict[str, Any]) -> ast.Module:
    """The script with the job's values in place of its annotated statements.

    Args:
        source: the annotated script.
        filename: its path, for error messages.
        config: the job's values by annotation name; a name absent keeps the original.
    """
    tree = _parse(source, filename)
    for ann in _annotations(tree, filename):
        if ann.key:
            if ann.key in config:
                ann.body[ann.index + 1].value = _chosen(ann, config[ann.key])
            ann.body[ann.index] = ast.Pass()
        elif ann.kind == "get_next_parameter":
            ann.body[ann.index] = ast.Pass()
        else:
            ann.body[ann.index] = _call(ann)
    tree.body.insert(_first_code_line(tree), ast.Import(names=[ast.alias(name="tunelab.compat.nni", asname=_MODULE_ALIAS)]))
    return ast.fix_missing_locations(tree)


def run(config_path: str, script: str, args: list[str]) -> None:
    """Rewrite ``script`` with the values in ``config_path`` and run it as ``__main__``."""
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    script_path = Path(script).resolve()
    tree = rewrite(script_path.read_text(encoding="utf-8"), str(script_path), config)
    copy = Path(config_path).resolve().parent / f"{script_path.stem}.annotated.py"
    copy.write_text(ast.unparse(tree) + "\n", encoding="utf-8")
    os.environ.setdefault(protocol.ENV_CONFIG, str(Path(config_path).resolve()))
    sys.argv = [str(script_path), *args]
    sys.path.insert(0, str(script_path.parent))
    namespace = {"__name__": "__main__", "__file__": str(script_path), "__builtins__": builtins}
    exec(compile(tree, str(copy), "exec"), namespace)  # noqa: S102  (running the user's own script)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tunelab.compat.nni_annotation CONFIG SCRIPT [ARGS...]``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m tunelab.compat.nni_annotation CONFIG SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    try:
        run(argv[0], argv[1], argv[2:])
    except AnnotationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
