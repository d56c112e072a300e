"""Stopper names, construction with checked options, and the foreign formats' rules.

``create`` builds a native rule; ``from_auptimizer``, ``from_nni`` and ``from_deephyper``
translate the early-stopping settings of those tools into the same rules, with each
tool's documented meaning.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from tunelab.exceptions import UserError
from tunelab.stoppers._bandit import BanditStopper
from tunelab.stoppers._base import NeverStop, Stopper
from tunelab.stoppers._curve_fitting import CurveFittingStopper
from tunelab.stoppers._median import MedianStopper
from tunelab.stoppers._successive_halving import SuccessiveHalvingStopper
from tunelab.stoppers._truncation import TruncationStopper

_REGISTRY: dict[str, type[Stopper]] = {cls.name: cls for cls in (
    NeverStop, MedianStopper, TruncationStopper, BanditStopper, CurveFittingStopper, SuccessiveHalvingStopper)}


def names() -> list[str]:
    """Every stopper name ``create`` accepts."""
    return sorted(_REGISTRY)


def _unknown(field: str, value: object, valid: list[str]) -> UserError:
    hint = difflib.get_close_matches(str(value), valid, n=1)
    close = f" (did you mean {hint[0]!r}?)" if hint else ""
    return UserError(f"{field}: unknown value {value!r}{close}; choose one of {', '.join(valid)}")


def _build(field: str, label: str, factory: Callable[..., Stopper], options: dict[str, Any]) -> Stopper:
    """Call ``factory(**options)``, turning unknown keys and rejected values into one-line UserErrors."""
    params = inspect.signature(factory).parameters
    accepted = [p for p, v in params.items() if v.kind is v.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) if accepted else "none"
        raise UserError(f"{field}: {unknown[0]!r} = {options[unknown[0]]!r} is not an option of {label}; "
                        f"its options are: {valid}")
    missing = [p for p in accepted if params[p].default is inspect.Parameter.empty and p not in options]
    if missing:
        raise UserError(f"{field}: {label} needs option {missing[0]!r}; add it")
    try:
        return factory(**options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{field} ({label}): {exc}") from None


def create(name: str, **options: Any) -> Stopper:
    """Build the stopper ``name`` with ``options``; unknown options are an error, never dropped.

    Raises:
        UserError: unknown name (the message lists valid ones), unknown option or bad value.

    Example:
        >>> create("median", n_startup_jobs=3)
        MedianStopper(n_startup_jobs=3, n_warmup_steps=0, interval_steps=1, own='best', others='last', finished_only=True)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise _unknown("stopper", name, names())
    return _build("stopper_args", f"stopper {key!r}", _REGISTRY[key], options)


def _aup_median(*, aup_policy_steps: int, warmup: int = 0) -> Stopper:
    return MedianStopper(n_startup_jobs=1, n_warmup_steps=warmup, interval_steps=aup_policy_steps,
                         own="average", others="average", finished_only=False)


def _aup_bandit(*, aup_policy_steps: int, warmup: int = 0, bandit_factor: float = 0.5) -> Stopper:
    return BanditStopper(factor=bandit_factor, interval_steps=aup_policy_steps, n_warmup_steps=warmup)


def _aup_truncation(*, aup_policy_steps: int, warmup: int = 0, truncation_percentage: float = 0.3) -> Stopper:
    return TruncationStopper(percentage=truncation_percentage, interval_steps=aup_policy_steps,
                             n_warmup_steps=warmup)


def _aup_curve_fitting(*, aup_policy_steps: int, curve_fitting_max_iters: int, warmup: int = 0,
                       curve_fitting_threshold: float = 0.95, curve_fitting_timeout: float = 60.0) -> Stopper:
    return CurveFittingStopper(max_step=curve_fitting_max_iters, start_step=warmup,
                               threshold=curve_fitting_threshold, interval_steps=aup_policy_steps,
                               timeout=curve_fitting_timeout)


_AUPTIMIZER: dict[str, Callable[..., Stopper]] = {
    "bandit": _aup_bandit, "median": _aup_median, "truncation": _aup_truncation,
    "curve_fitting": _aup_curve_fitting,
}


def from_auptimizer(early_stop: dict[str, Any]) -> Stopper:
    """Translate Auptimizer's ``resource_args.early_stop``.

    ``aup_policy`` picks the rule, ``aup_policy_steps`` the evaluation interval and
    ``warmup`` the first step judged. ``curve_fitting_max_iters`` is, as Auptimizer
    documents it, the number of intermediate results a job reports: the step the curve
    is extrapolated to.

    Raises:
        UserError: unknown policy, a key the policy does not take, or a bad value.

    Example:
        >>> from_auptimizer({"aup_policy": "bandit", "aup_policy_steps": 5, "bandit_factor": 0.3})
        BanditStopper(factor=0.3, interval_steps=5, n_warmup_steps=0)
    """
    if not isinstance(early_stop, dict):
        raise UserError(f"resource_args.early_stop: expected an object, got {early_stop!r}")
    options = dict(early_stop)
    policy = options.pop("aup_policy", None)
    if policy not in _AUPTIMIZER:
        raise _unknown("resource_args.early_stop.aup_policy", policy, sorted(_AUPTIMIZER))
    return _build("resource_args.early_stop", f"aup_policy {policy!r}", _AUPTIMIZER[policy], options)


def _nni_medianstop(*, start_step: int = 0, optimize_mode: str = "maximize") -> Stopper:
    return MedianStopper(n_startup_jobs=1, n_warmup_steps=start_step, own="best", others="average",
                         finished_only=True)


def _nni_curvefitting(*, epoch_num: int, start_step: int = 6, threshold: float = 0.95, gap: int = 1,
                      optimize_mode: str = "maximize") -> Stopper:
    return CurveFittingStopper(max_step=epoch_num, start_step=start_step, threshold=threshold, interval_steps=gap)


_NNI: dict[str, Callable[..., Stopper]] = {"medianstop": _nni_medianstop, "curvefitting": _nni_curvefitting}


def from_nni(name: str, class_args: dict[str, Any] | None = None) -> Stopper:
    """Translate an NNI assessor (``assessor.name`` and ``assessor.classArgs``).

    ``optimize_mode`` is accepted and ignored here: losses reach stoppers already signed
    to minimize.

    Raises:
        UserError: unknown assessor, unknown class argument, or a bad value.

    Example:
        >>> from_nni("Curvefitting", {"epoch_num": 20, "threshold": 0.9})
        CurveFittingStopper(max_step=20, start_step=6, threshold=0.9, interval_steps=1, timeout=60.0, max_evals=1000)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _NNI:
        raise _unknown("assessor.name", name, ["Curvefitting", "Medianstop"])
    return _build("assessor.classArgs", f"assessor {name!r}", _NNI[key], dict(class_args or {}))


def _dh_median(*, max_steps: int, min_steps: int = 1, min_competing: int = 0, interval_steps: int = 1) -> Stopper:
    return MedianStopper(n_startup_jobs=max(1, min_competing), n_warmup_steps=min_steps, interval_steps=interval_steps,
                         own="last", others="last", finished_only=False)


_DEEPHYPER: dict[str, Callable[..., Stopper]] = {
    "successivehalvingstopper": SuccessiveHalvingStopper, "medianstopper": _dh_median,
}


def from_deephyper(name: str, options: dict[str, Any] | None = None) -> Stopper:
    """Translate a DeepHyper stopper (``SuccessiveHalvingStopper`` or ``MedianStopper``).

    Raises:
        UserError: unknown stopper, unknown option, or a bad value.

    Example:
        >>> from_deephyper("SuccessiveHalvingStopper", {"max_steps": 27}).rungs
        [1, 3, 9]
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _DEEPHYPER:
        raise _unknown("stopper", name, ["MedianStopper", "SuccessiveHalvingStopper"])
    return _build("stopper_kwargs", f"stopper {name!r}", _DEEPHYPER[key], dict(options or {}))


def from_spec(early_stop: dict[str, Any]) -> Stopper:
    """The stopper for an experiment's ``resource_args.early_stop``, in any of its forms.

    Forms: Auptimizer's (``{"aup_policy": ..., ...}``), NNI's assessor as translated by
    its front-end (``{"nni": "Medianstop", ...classArgs}``), DeepHyper's
    (``{"deephyper": "MedianStopper", ...}``), or native (``{"name": "median", ...}``).

    Raises:
        UserError: the form is not recognised, or the rule rejects its options.

    Example:
        >>> from_spec({"name": "median", "n_startup_jobs": 3}).name
        'median'
    """
    if not isinstance(early_stop, dict):
        raise UserError(f"resource_args.early_stop: expected an object, got {early_stop!r}")
    options = dict(early_stop)
    if "aup_policy" in options:
        return from_auptimizer(options)
    if "nni" in options:
        return from_nni(options.pop("nni"), options)
    if "deephyper" in options:
        return from_deephyper(options.pop("deephyper"), options)
    if "name" in options:
        return create(options.pop("name"), **options)
    raise UserError("resource_args.early_stop: name the rule, e.g. {\"name\": \"median\"} or "
                    "{\"aup_policy\": \"median\", \"aup_policy_steps\": 1}")
