"""The search space: named parameters of a few kinds, and conditional ones.

Every kind is a small validated value object with a stable ``kind`` tag. It samples
itself, validates a value, lists a grid, and maps to and from the unit interval, so
model-based proposers work in the unit cube and never branch on kinds.

Example:
    >>> space = Space([Float("lr", 1e-4, 1e-1, log=True), Choice("opt", ["adam", "sgd"]),
    ...                Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]})])
    >>> config = space.sample(np.random.default_rng(0))
    >>> sorted(space.validate(config)) == sorted(config)
    True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from tunelab.exceptions import SpecError

Config = dict[str, Any]


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar for numpy scalars."""
    return value.item() if isinstance(value, np.generic) else value


class Param:
    """Base of the parameter kinds.

    Args:
        name: the parameter's name, a key of every config where it is active.
        when: condition ``{parent_name: [values]}``; the parameter exists only when every
            named parent is active and has one of the listed values.
    """

    kind: ClassVar[str] = ""

    def __init__(self, name: str, when: dict[str, Sequence[Any]] | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a parameter needs a non-empty string name, got {name!r}")
        self.name = name
        self.when = {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in (when or {}).items()}

    # Subclasses implement these.
    def sample(self, rng: np.random.Generator) -> Any:
        """A random value from the parameter's prior."""
        return self.from_unit(float(rng.random()))

    def validate(self, value: Any) -> Any:
        """The value in canonical form; raises ``ValueError`` naming the rule."""
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        """Map a valid value into [0, 1]."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """Map a point of [0, 1] back to a valid value."""
        raise NotImplementedError

    def grid(self, n: int | None = None) -> list[Any]:
        """``n`` evenly spread values (all values for discrete kinds when ``n`` is None)."""
        n = n or 10
        return list(dict.fromkeys(self.from_unit((i + 0.5) / n if n > 1 else 0.5) for i in range(n)))

    @property
    def cardinality(self) -> float:
        """Number of distinct values (``math.inf`` for continuous kinds)."""
        return math.inf

    @property
    def is_categorical(self) -> bool:
        """True when the values have no order (models should not interpolate)."""
        return False

    def _fields(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        """JSON form with a stable ``kind`` tag; :func:`param_from_dict` reads it back."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, **self._fields()}
        if self.when:
            out["when"] = self.when
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k not in ("kind",))
        return f"{type(self).__name__}({args})"


class _Numeric(Param):
    """Shared logic of Float and Int: bounds, log scale and step."""

    def __init__(self, name: str, low: float, high: float, *, log: bool = False,
                 step: float | None = None, when: dict | None = None) -> None:
        super().__init__(name, when)
        for label, bound in (("low", low), ("high", high)):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ValueError(f"`{label}` must be a finite number, but got {bound!r}")
        if not low < high:
            raise ValueError(f"`low < high` must hold, but got (low={low}, high={high})")
        if not math.isfinite(high - low):
            raise ValueError(f"the range [{low}, {high}] is too wide to compute with (high - low overflows); "
                             f"narrow it, or use a log scale on a positive range")
        if log and low <= 0:
            raise ValueError(f"a log-scale parameter needs `low > 0`, but got low={low}")
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
                raise ValueError(f"`step` must be a positive number, but got {step!r}")
            if log:
                raise ValueError("`step` and `log` cannot be combined; choose one")
            if step > high - low:
                raise ValueError(f"`step` {step} is larger than the range [{low}, {high}]; use a step of at "
                                 f"most {high - low}")
        self.low, self.high, self.log, self.step = low, high, bool(log), step

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out

    def _check_number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        number = float(value)
        if not (self.low - 1e-12 * max(1.0, abs(self.low)) <= number <= self.high + 1e-12 * max(1.0, abs(self.high))):
            raise ValueError(f"{self.name} must lie in [{self.low}, {self.high}], got {value!r}")
        return number


class Float(_Numeric):
    """A real number in ``[low, high]``, on a linear or log scale, optionally stepped.

    Two options give the quantized and normal kinds of NNI and DeepHyper:

    * ``q``: round every value to a multiple of ``q``, then clip it into the bounds
      (``clip(round(x / q) * q, low, high)``). Unlike ``step``, the lattice is anchored
      at 0, not at ``low``, and it combines with ``log`` and the normal prior.
    * ``prior="normal"`` with ``mu`` and ``sigma``: values follow a normal law (of
      ``log(x)`` when ``log`` is set). ``low``/``high`` are then optional; when given,
      the law is truncated to them. The unit interval maps through the law's CDF, so
      ``from_unit`` of a uniform ``u`` is a draw from the prior.

    Example:
        >>> Float("lr", mu=-7.0, sigma=1.0, log=True, prior="normal").from_unit(0.5) == math.exp(-7.0)
        True
        >>> Float("units", 1, 10, q=4).grid()  # round(10 / 4) rounds half to even, as NNI does
        [1.0, 4.0, 8.0]
    """

    kind = "float"
    _EDGE = 1e-12

    def __init__(self, name: str, low: float | None = None, high: float | None = None, *, log: bool = False,
                 step: float | None = None, q: float | None = None, prior: str = "uniform",
                 mu: float | None = None, sigma: float | None = None, when: dict | None = None) -> None:
        if prior not in ("uniform", "normal"):
            raise ValueError(f"`prior` must be 'uniform' or 'normal', but got {prior!r}")
        if prior == "normal":
            self._init_normal(name, low, high, log=log, step=step, mu=mu, sigma=sigma, when=when)
        else:
            if mu is not None or sigma is not None:
                raise ValueError("`mu` and `sigma` need prior='normal'")
            super().__init__(name, low, high, log=log, step=step, when=when)
        if q is not None:
            if isinstance(q, bool) or not isinstance(q, (int, float)) or not q > 0:
                raise ValueError(f"`q` must be a positive number, but got {q!r}")
            if step is not None:
                raise ValueError("`q` and `step` cannot be combined; choose one")
        self.prior, self.mu, self.sigma, self.q = prior, mu, sigma, q

    def _init_normal(self, name: str, low: float | None, high: float | None, *, log: bool,
                     step: float | None, mu: float | None, sigma: float | None, when: dict | None) -> None:
        for label, number in (("mu", mu), ("sigma", sigma)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise ValueError(f"`{label}` must be a finite number with prior='normal', but got {number!r}")
        if not sigma > 0:
            raise ValueError(f"`sigma` must be positive, but got {sigma}")
        if step is not None:
            raise ValueError("`step` cannot be combined with prior='normal'; use `q` to round values")
        if (low is None) != (high is None):
            raise ValueError(f"give both `low` and `high` or neither, but got (low={low}, high={high})")
        if low is None:
            Param.__init__(self, name, when)
            self.low, self.high, self.log, self.step = None, None, bool(log), None
        else:
            super().__init__(name, low, high, log=log, when=when)

    @property
    def bounded(self) -> bool:
        """True when values are confined to ``[low, high]``."""
        return self.low is not None

    def _fields(self) -> dict[str, Any]:
        out = super()._fields() if self.bounded else ({"log": True} if self.log else {})
        if self.prior == "normal":
            out.update(prior="normal", mu=self.mu, sigma=self.sigma)
        if self.q is not None:
            out["q"] = self.q
        return out

    def _check_number(self, value: Any) -> float:
        if self.bounded:
            return super()._check_number(value)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
            raise ValueError(f"{self.name} must be a finite number, got {value!r}")
        if self.log and value < 0:
            raise ValueError(f"{self.name} is log-normal and must not be negative, got {value!r}")
        return float(value)

    def _clip(self, number: float) -> float:
        return float(min(max(number, self.low), self.high)) if self.bounded else number

    def _finish(self, number: float) -> float:
        """Apply ``step`` or ``q`` rounding and the bounds."""
        if self.step:
            return self._snap(self._clip(number))
        if self.q is not None:
            number = float(round(round(number / self.q) * self.q, 12))
        return self._clip(number)

    def validate(self, value: Any) -> float:
        return self._finish(self._check_number(value))

    def _snap(self, number: float) -> float:
        k = round((number - self.low) / self.step)
        k = min(k, math.floor((self.high - self.low) / self.step + 1e-9))
        return float(round(self.low + k * self.step, 12))

    def _normal_cdf(self, number: float) -> float:
        from statistics import NormalDist

        if self.log:
            number = math.log(max(number, 1e-300))
        return NormalDist(self.mu, self.sigma).cdf(number)

    def _normal_mass(self) -> tuple[float, float]:
        if not self.bounded:
            return 0.0, 1.0
        return self._normal_cdf(self.low), self._normal_cdf(self.high)

    def to_unit(self, value: Any) -> float:
        value = float(value)
        if self.prior == "normal":
            lo, hi = self._normal_mass()
            return min(max((self._normal_cdf(value) - lo) / max(hi - lo, self._EDGE), 0.0), 1.0)
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.prior == "normal":
            from statistics import NormalDist

            lo, hi = self._normal_mass()
            p = min(max(lo + u * (hi - lo), self._EDGE), 1.0 - self._EDGE)
            value = NormalDist(self.mu, self.sigma).inv_cdf(p)
            return self._finish(math.exp(value) if self.log else value)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return self._finish(value)

    def grid(self, n: int | None = None) -> list[float]:
        if self.step and n is None:
            count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
            return [self._snap(self.low + i * self.step) for i in range(count)]
        if self.q is not None and n is None and self.cardinality <= 1000:
            k_low, k_high = round(self.low / self.q), round(self.high / self.q)
            return list(dict.fromkeys(self._finish(k * self.q) for k in range(k_low, k_high + 1)))
        n = n or 10
        if n == 1:
            return [self.from_unit(0.5)]
        if self.prior == "normal":
            return list(dict.fromkeys(self.from_unit((i + 0.5) / n) for i in range(n)))
        return list(dict.fromkeys(self.from_unit(i / (n - 1)) for i in range(n)))

    @property
    def cardinality(self) -> float:
        if self.step:
            return math.floor((self.high - self.low) / self.step + 1e-9) + 1
        if self.q is not None and self.bounded:
            return round(self.high / self.q) - round(self.low / self.q) + 1
        return math.inf


class Int(_Numeric):
    """An integer in ``[low, high]`` (both inclusive), linear or log scale, optionally stepped."""

    kind = "int"

    def __init__(self, name: str, low: int, high: int, *, log: bool = False,
                 step: int | None = None, when: dict | None = None) -> None:
        super().__init__(name, low, high, log=log, step=step, when=when)
        if int(low) != low or int(high) != high:
            raise ValueError(f"int bounds must be integers, but got (low={low}, high={high})")
        if step is not None and int(step) != step:
            raise ValueError(f"an int parameter needs an integer `step`, but got {step!r}")
        self.low, self.high = int(low), int(high)
        self.step = int(step) if step is not None else None

    def _values_step(self) -> int:
        return self.step or 1

    def validate(self, value: Any) -> int:
        number = self._check_number(value)
        if number != int(number):
            raise ValueError(f"{self.name} must be an integer, got {value!r}")
        return self._snap(int(number))

    def _snap(self, number: float) -> int:
        step = self._values_step()
        k = round((number - self.low) / step)
        k = min(max(k, 0), (self.high - self.low) // step)
        return int(self.low + k * step)

    def to_unit(self, value: Any) -> float:
        lo, hi = self.low - 0.5, self.high + 0.5
        if self.log:
            lo, hi = max(self.low - 0.5, self.low * 0.5), self.high + 0.5
            return (math.log(float(value)) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (float(value) - lo) / (hi - lo)

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self.low - 0.5, self.high + 0.5
        if self.log:
            lo = max(self.low - 0.5, self.low * 0.5)
            value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            value = lo + u * (hi - lo)
        return self._snap(min(max(value, self.low), self.high))

    def grid(self, n: int | None = None) -> list[int]:
        count = int(self.cardinality)
        if n is None or n >= count:
            return list(range(self.low, self.high + 1, self._values_step()))
        if n == 1:
            return [self.from_unit(0.5)]
        return list(dict.fromkeys(self.from_unit(i / (n - 1)) for i in range(n)))

    @property
    def cardinality(self) -> float:
        return (self.high - self.low) // self._values_step() + 1


class Choice(Param):
    """One of a list of unordered values (strings, numbers, booleans)."""

    kind = "choice"

    def __init__(self, name: str, choices: Sequence[Any], when: dict | None = None) -> None:
        super().__init__(name, when)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or len(choices) < 1:
            raise ValueError(f"`choices` must be a non-empty list, but got {choices!r}")
        values = [_plain(c) for c in choices]
        if len({json_key(v) for v in values}) != len(values):
            raise ValueError(f"`choices` must not repeat a value, but got {values!r}")
        self.choices = values

    def _fields(self) -> dict[str, Any]:
        return {"choices": self.choices}

    def index(self, value: Any) -> int:
        """Position of ``value`` in the choices; ``ValueError`` when absent."""
        key = json_key(_plain(value))
        for i, choice in enumerate(self.choices):
            if json_key(choice) == key:
                return i
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for i, choice in enumerate(self.choices):
                if isinstance(choice, (int, float)) and not isinstance(choice, bool) and float(choice) == float(value):
                    return i
        raise ValueError(f"{self.name} must be one of {self.choices}, got {value!r}")

    def validate(self, value: Any) -> Any:
        return self.choices[self.index(value)]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        return self.choices[min(int(float(u) * len(self.choices)), len(self.choices) - 1)]

    def grid(self, n: int | None = None) -> list[Any]:
        return list(self.choices)

    @property
    def cardinality(self) -> float:
        return len(self.choices)

    @property
    def is_categorical(self) -> bool:
        return True


class Ordinal(Choice):
    """One of a list of ordered values (``[16, 32, 64]``, ``["small", "large"]``)."""

    kind = "ordinal"

    @property
    def is_categorical(self) -> bool:
        return False


class Constant(Param):
    """A fixed value passed to every job."""

    kind = "constant"

    def __init__(self, name: str, value: Any, when: dict | None = None) -> None:
        super().__init__(name, when)
        self.value = _plain(value)

    def _fields(self) -> dict[str, Any]:
        return {"value": self.value}

    def validate(self, value: Any) -> Any:
        if json_key(_plain(value)) != json_key(self.value):
            raise ValueError(f"{self.name} is the constant {self.value!r}, got {value!r}")
        return self.value

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def from_unit(self, u: float) -> Any:
        return self.value

    def grid(self, n: int | None = None) -> list[Any]:
        return [self.value]

    @property
    def cardinality(self) -> float:
        return 1


KINDS: dict[str, type[Param]] = {cls.kind: cls for cls in (Float, Int, Choice, Ordinal, Constant)}


def json_key(value: Any) -> str:
    """A canonical string for comparing values and configs (``1`` and ``True`` differ)."""
    import json

    return json.dumps(value, sort_keys=True, default=str)


def param_from_dict(data: dict[str, Any]) -> Param:
    """Rebuild a parameter from :meth:`Param.to_dict` output."""
    data = dict(data)
    kind = data.pop("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown parameter kind {kind!r}; expected one of {sorted(KINDS)}")
    return KINDS[kind](**data)


class Space:
    """An ordered collection of parameters, parents before their conditional children.

    Args:
        params: the parameters; names must be unique and every ``when`` must name an
            earlier parameter.
    """

    def __init__(self, params: Iterable[Param]) -> None:
        self.params: list[Param] = list(params)
        seen: dict[str, Param] = {}
        for param in self.params:
            if param.name in seen:
                raise ValueError(f"parameter names must be unique, but {param.name!r} repeats")
            for parent, values in param.when.items():
                if parent not in seen:
                    raise ValueError(f"{param.name}: `when` names {parent!r}, which must be an earlier parameter")
                if not values:
                    raise ValueError(f"{param.name}: `when` lists no value of {parent!r}, so {param.name} would "
                                     f"never be used; list the values of {parent!r} that use it")
                for value in values:
                    try:
                        seen[parent].validate(value)
                    except ValueError as exc:
                        raise ValueError(f"{param.name}: `when` gives {parent!r} a value it never takes: {exc}") \
                            from None
            seen[param.name] = param
        self._by_name = seen

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and other.params == self.params

    def __repr__(self) -> str:
        return f"Space({self.params!r})"

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [p.name for p in self.params]

    @property
    def is_conditional(self) -> bool:
        """True when some parameter exists only under a parent's value."""
        return any(p.when for p in self.params)

    @property
    def cardinality(self) -> float:
        """Number of distinct configs (an upper bound when conditional; inf if continuous)."""
        return math.prod(p.cardinality for p in self.params)

    def is_active(self, param: Param, config: Config) -> bool:
        """True when every parent of ``param`` is in ``config`` with an allowed value."""
        for parent, values in param.when.items():
            if parent not in config:
                return False
            keys = {json_key(v) for v in values}
            if json_key(config[parent]) not in keys:
                return False
        return True

    def sample(self, rng: np.random.Generator) -> Config:
        """A random config from the prior; inactive parameters are left out."""
        config: Config = {}
        for param in self.params:
            if self.is_active(param, config):
                config[param.name] = param.sample(rng)
        return config

    def validate(self, config: dict[str, Any], *, where: str = "config") -> Config:
        """The config in canonical form, with constants filled in.

        Raises:
            SpecError: one line per bad, missing or unknown parameter.
        """
        if not isinstance(config, dict):
            raise SpecError([f"{where}: expected an object of parameter values, got {config!r}"])
        problems: list[str] = []
        out: Config = {}
        for param in self.params:
            if not self.is_active(param, out):
                if param.name in config:
                    problems.append(f"{where}.{param.name}: set, but inactive unless {param.when}; remove it")
                continue
            if param.name not in config:
                if isinstance(param, Constant):
                    out[param.name] = param.value
                    continue
                problems.append(f"{where}.{param.name}: missing; give a value of {param!r}")
                continue
            try:
                out[param.name] = param.validate(config[param.name])
            except ValueError as exc:
                problems.append(f"{where}.{param.name}: {exc}")
        for name in config:
            if name not in self._by_name:
                problems.append(f"{where}.{name}: not a parameter of the space; expected one of {self.names}")
        if problems:
            raise SpecError(problems)
        return out

    def to_unit(self, config: Config) -> np.ndarray:
        """Encode a config in the unit cube; inactive parameters become NaN."""
        return np.array([p.to_unit(config[p.name]) if p.name in config else np.nan for p in self.params])

    def from_unit(self, x: Sequence[float]) -> Config:
        """Decode a point of the unit cube, keeping only the parameters it activates."""
        config: Config = {}
        for param, u in zip(self.params, x):
            if self.is_active(param, config):
                config[param.name] = param.from_unit(0.5 if math.isnan(u) else u)
        return config

    def grid(self, counts: dict[str, int] | None = None) -> Iterator[Config]:
        """Every combination of grid values, conditional parameters only where active.

        Args:
            counts: number of grid points per continuous parameter (default 10).
        """
        counts = counts or {}
        values = [p.grid(counts.get(p.name)) for p in self.params]

        def expand(i: int, config: Config) -> Iterator[Config]:
            if i == len(self.params):
                yield dict(config)
                return
            param = self.params[i]
            if not self.is_active(param, config):
                yield from expand(i + 1, config)
                return
            for value in values[i]:
                config[param.name] = value
                yield from expand(i + 1, config)
            del config[param.name]

        if not self.is_conditional:
            for combo in itertools.product(*values):
                yield dict(zip(self.names, combo))
            return
        yield from expand(0, {})

    def key(self, config: Config) -> str:
        """A canonical string identifying a config, to detect repeats."""
        return json_key({k: config[k] for k in sorted(config)})

    def to_list(self) -> list[dict[str, Any]]:
        """The space as a list of tagged dicts."""
        return [p.to_dict() for p in self.params]

    @classmethod
    def from_list(cls, data: list[dict[str, Any]]) -> Space:
        """Rebuild a space from :meth:`to_list` output."""
        return cls(param_from_dict(d) for d in data)
