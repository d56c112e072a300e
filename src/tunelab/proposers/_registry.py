"""Proposer names, aliases and construction with checked options."""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from tunelab.exceptions import UserError
from tunelab.proposers._base import Proposer
from tunelab.space import Space

_REGISTRY: dict[str, type[Proposer]] = {}

ALIASES = {"grid": "sequence"}
"""Other names users know for a proposer (Optuna's GridSampler, NNI's GridSearch, Ray's grid_search)."""


def register(cls: type[Proposer]) -> type[Proposer]:
    """Class decorator adding a proposer under its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    import tunelab.proposers  # noqa: F401  (registers the built-in proposers)


def names() -> list[str]:
    """Every registered proposer name."""
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> type[Proposer]:
    """The proposer class called ``name``.

    Raises:
        UserError: unknown name; the message lists the valid ones.
    """
    _load_all()
    key = name.lower() if isinstance(name, str) else name
    key = ALIASES.get(key, key)
    if key not in _REGISTRY:
        hint = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        close = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UserError(f"proposer: unknown name {name!r}{close}; choose one of {', '.join(names())}")
    return _REGISTRY[key]


def options(name: str) -> list[str]:
    """Option names the proposer ``name`` accepts."""
    signature = inspect.signature(get(name).__init__)
    return [p for p, v in signature.parameters.items()
            if p not in ("self", "space", "seed") and v.kind is v.KEYWORD_ONLY]


def create(name: str, space: Space, *, seed: int, options_: dict[str, Any] | None = None) -> Proposer:
    """Build proposer ``name`` on ``space``; unknown options are an error, never dropped.

    Raises:
        UserError: unknown proposer, unknown option, or an option value it rejects.
    """
    cls = get(name)
    given = dict(options_ or {})
    accepted = options(name)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) if accepted else "none"
        raise UserError(f"proposer_args: {unknown[0]!r} is not an option of proposer {cls.name!r}; "
                        f"its options are: {valid}")
    try:
        return cls(space, seed=seed, **given)
    except (TypeError, ValueError) as exc:
        raise UserError(f"proposer_args ({cls.name}): {exc}") from None
