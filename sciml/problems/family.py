"""Problem families for operator learning: a problem file whose ``[family]`` section makes some
inputs random functions.

```toml
[pde]
type = "ode"
variables = ["s"]
rhs = ["v(t)"]               # the random input is called like a function

[family.inputs.v]            # one table per random input
kind = "grf"                 # grf | grf2d | chebyshev | power
length_scale = 0.2
on = "t"                     # its coordinates: "x", "t" (ODE forcing) or "xy"
sensors = 100                # equispaced sensors (per axis) where the data set records it

[family.output]
layout = "random"            # random: `points` random locations per sample; grid: a shared grid
points = 1
```

:func:`sample_member` draws every input and binds it into the problem's expressions, giving an
ordinary :class:`~sciml.problems.Problem` the references solve.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..data.fields import Chebyshev, GaussianRF1D, GaussianRF2D, PowerSeries, SampledFunction, Threshold
from ..errors import ProblemError
from .expr import Expr
from .problem import BoundaryCondition

KINDS = ("grf", "grf2d", "chebyshev", "power", "expr")
OPTIONS = {"grf": ("length_scale", "sigma", "n_grid", "threshold"), "grf2d": ("alpha", "tau", "sigma", "n_grid", "threshold"),
           "chebyshev": ("degree", "M"), "power": ("degree", "M")}
# a given input (`--set family.inputs.v.kind="expr"`) may keep the random kind's options: --set cannot remove keys
OPTIONS["expr"] = ("value", *sorted({k for keys in OPTIONS.values() for k in keys}))
MAX_POINTS = 1_000_000  # sensors of one input, output points of one sample
LIMITS = {"n_grid": 4_096, "degree": 1_000}  # sizes that would exhaust memory (a dense n_grid^2 matrix)
LAYOUTS = ("random", "grid")


@dataclass(frozen=True)
class RandomInput:
    """One random input function: its name, distribution, coordinates and sensors."""

    name: str
    distribution: Any
    on: tuple[str, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    sensors: int

    def sensor_points(self) -> np.ndarray:
        """Equispaced sensors ``(m, len(on))`` (``sensors`` per axis, ``ij`` order)."""
        axes = [np.linspace(a, b, self.sensors) for a, b in zip(self.lo, self.hi)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(self.on))

    def sample(self, rng: np.random.Generator) -> SampledFunction:
        return self.distribution.sample(rng, np.array(self.lo), np.array(self.hi))


class ExprFunction(SampledFunction):
    """A given (not random) input: an expression in the input's coordinates."""

    def __init__(self, expr: Expr, on: tuple[str, ...]):
        self.expr, self.on, self.dim = expr, on, len(on)

    def _numpy(self, *coords: np.ndarray) -> np.ndarray:
        return self.expr.numpy(**dict(zip(self.on, coords)))

    def _torch(self, *coords: Any) -> Any:
        return self.expr.torch(**dict(zip(self.on, coords)))


@dataclass(frozen=True)
class GivenInput:
    """``kind = "expr"``: one fixed input function, e.g. to ask a trained operator about it."""

    expr: Expr
    on: tuple[str, ...]

    def sample(self, rng: np.random.Generator, lo: Any, hi: Any) -> SampledFunction:
        return ExprFunction(self.expr, self.on)


@dataclass(frozen=True)
class FamilySpec:
    """The parsed ``[family]`` section; ``drawn`` holds the input functions of a member."""

    inputs: tuple[RandomInput, ...]
    layout: str = "random"
    points: int = 1
    seed: int = 0
    drawn: Mapping[str, SampledFunction] | None = None
    of: str = ""  # the family's name, in a member

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)


def _distribution(kind: str, opts: Mapping[str, Any], where: str, on: tuple[str, ...]) -> Any:
    if kind == "expr":
        if "value" not in opts:  # distribution options may remain (from a --set on a random input)
            raise ProblemError("an expr input needs value, an expression in its coordinates", None, where)
        return GivenInput(Expr.of(opts["value"], on), on)
    threshold = None
    if "threshold" in opts:
        t = opts["threshold"]
        if not (isinstance(t, list) and len(t) in (2, 3) and all(isinstance(v, (int, float)) for v in t)):
            raise ProblemError("threshold: expected [low, high] or [low, high, level]", None, where)
        threshold = Threshold(*map(float, t))
    keys = {"grf": ("length_scale", "sigma", "n_grid"), "grf2d": ("alpha", "tau", "sigma", "n_grid"),
            "chebyshev": ("degree", "M"), "power": ("degree", "M")}[kind]
    args = {k: opts[k] for k in keys if k in opts}
    if kind == "grf":
        if "length_scale" not in args:
            raise ProblemError("grf needs length_scale", None, where)
        return GaussianRF1D(threshold=threshold, **args)
    if kind == "grf2d":
        return GaussianRF2D(threshold=threshold, **args)
    if threshold is not None:
        raise ProblemError(f"{kind} takes no threshold", None, where)
    return (Chebyshev if kind == "chebyshev" else PowerSeries)(**args)


def parse_family(raw: Mapping[str, Any], space: tuple[str, ...], bounds: tuple[np.ndarray, np.ndarray] | None,
                 time: Any, reserved: set[str]) -> FamilySpec:
    """Validate a ``[family]`` table (see the module docstring)."""
    if not isinstance(raw, Mapping):
        raise ProblemError("expected a table", None, "family")
    unknown = set(raw) - {"inputs", "output", "seed"}
    if unknown:
        raise ProblemError(f"unknown key {sorted(unknown)[0]!r} (allowed: inputs, output, seed)", None, "family")
    tables = raw.get("inputs")
    if not isinstance(tables, Mapping) or not tables:
        raise ProblemError("a family needs at least one [family.inputs.NAME] table", None, "family.inputs")
    inputs = []
    for name, opts in tables.items():
        where = f"family.inputs.{name}"
        if not name.isidentifier() or name in reserved:
            raise ProblemError("input names must be identifiers other than coordinates, fields, parameters "
                               "and function names", None, where)
        if not isinstance(opts, Mapping):
            raise ProblemError("expected a table", None, where)
        kind = opts.get("kind")
        if kind not in KINDS:
            raise ProblemError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", None, f"{where}.kind")
        allowed = {"kind", "on", "sensors", *OPTIONS[kind]}
        if set(opts) - allowed:
            raise ProblemError(f"unknown key {sorted(set(opts) - allowed)[0]!r} for kind = {kind!r} (allowed: "
                               f"{', '.join(sorted(allowed))})", None, where)
        on = tuple(str(opts.get("on", "x" if space else "t")))
        lo, hi = [], []
        for c in on:
            if c == "t" and time is not None:
                lo.append(time.start)
                hi.append(time.end)
            elif c in space and bounds is not None:
                lo.append(float(bounds[0][space.index(c)]))
                hi.append(float(bounds[1][space.index(c)]))
            else:
                raise ProblemError(f"'on' must name coordinates of this problem, got {''.join(on)!r}", None,
                                   f"{where}.on")
        if kind != "expr" and len(on) != (2 if kind == "grf2d" else 1):
            raise ProblemError(f"{kind} is a function of {2 if kind == 'grf2d' else 1} coordinate(s)", None,
                               f"{where}.on")
        sensors = opts.get("sensors", 100)
        if not isinstance(sensors, int) or isinstance(sensors, bool) or not 2 <= sensors ** len(on) <= MAX_POINTS:
            raise ProblemError(f"sensors must be an integer >= 2 with at most {MAX_POINTS:,} sensors in all",
                               None, f"{where}.sensors")
        for key in set(opts) & {"length_scale", "sigma", "n_grid", "alpha", "tau", "degree", "M"}:
            value = opts[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ProblemError(f"expected a finite number, got {value!r}", None, f"{where}.{key}")
            if key in LIMITS and not value <= LIMITS[key]:
                raise ProblemError(f"must be at most {LIMITS[key]:,}", None, f"{where}.{key}")
        try:
            dist = _distribution(kind, opts, where, on)
        except (TypeError, ValueError) as exc:
            raise ProblemError(str(exc), None, where) from None
        inputs.append(RandomInput(name, dist, on, tuple(lo), tuple(hi), sensors))
    out = raw.get("output", {})
    if not isinstance(out, Mapping) or set(out) - {"layout", "points"}:
        raise ProblemError("expected a table with layout and points", None, "family.output")
    layout, points = out.get("layout", "random"), out.get("points", 1)
    if layout not in LAYOUTS:
        raise ProblemError(f"layout must be random or grid, got {layout!r}", None, "family.output.layout")
    total = points ** len(space) if layout == "grid" and isinstance(points, int) else points
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= total <= MAX_POINTS:
        raise ProblemError(f"points must be a positive integer, at most {MAX_POINTS:,} output points in all",
                           None, "family.output.points")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ProblemError("seed must be an integer in [0, 2**32)", None, "family.seed")
    return FamilySpec(tuple(inputs), layout, points, seed)


def _bind(obj: Any, values: Mapping[str, SampledFunction]) -> Any:
    if isinstance(obj, Expr):
        hit = {k: v for k, v in values.items() if k in obj.free}
        return obj.bind(**hit) if hit else obj
    if isinstance(obj, tuple):
        return tuple(_bind(o, values) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _bind(v, values) for k, v in obj.items()}
    if isinstance(obj, BoundaryCondition):
        return dataclasses.replace(obj, value=_bind(obj.value, values), alpha=_bind(obj.alpha, values),
                                   predicate=_bind(obj.predicate, values))
    return obj


def bind_inputs(problem: Any, values: Mapping[str, SampledFunction]) -> Any:
    """``problem`` with its random input functions bound to ``values`` everywhere."""
    pde = dataclasses.replace(problem.pde, coefs=_bind(dict(problem.pde.coefs), values))
    return dataclasses.replace(problem, pde=pde, initial=_bind(problem.initial, values),
                               exact=_bind(problem.exact, values),
                               boundaries=tuple(_bind(b, values) for b in problem.boundaries))


def sample_member(problem: Any, rng: np.random.Generator) -> tuple[Any, dict[str, SampledFunction]]:
    """Draw every random input of a family problem; returns the member (whose ``family.drawn``
    holds the functions) and the drawn functions."""
    if problem.family is None:
        raise ProblemError(f"{problem.name} is not a problem family (no [family] section)", problem.source, "family")
    from .checks import check_problem

    drawn = {i.name: i.sample(rng) for i in problem.family.inputs}
    member = bind_inputs(problem, drawn)
    spec = dataclasses.replace(problem.family, drawn=drawn, of=problem.family.of or problem.name)
    member = dataclasses.replace(member, family=spec)
    check_problem(member, drawn)  # the expressions that call the drawn inputs
    return member, drawn


def member(problem: Any, index: int) -> Any:
    """Member ``index`` of a family, drawn as the data sets draw it (``rng([seed, index])``);
    inputs given as ``kind = "expr"`` are used as they are. Returns plain problems unchanged."""
    if problem.family is None or problem.family.drawn is not None:
        return problem
    given = all(isinstance(i.distribution, GivenInput) for i in problem.family.inputs)
    out, _ = sample_member(problem, np.random.default_rng([problem.family.seed, index]))
    name = problem.name if given else f"{problem.name}-member{index}"
    return dataclasses.replace(out, name=name)
