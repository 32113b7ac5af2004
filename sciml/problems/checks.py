"""Checks of a loaded problem's expressions on samples of its domain and time interval.

Every expression of a problem is evaluated when the file loads, where it applies: coefficients
and the exact solution on points of the closed domain at several times, initial values at the
start time, boundary data on the boundary points its condition covers, a flux or reaction on
the range of the initial data, ODE right-hand sides at the initial state. A non-finite value is
bad input naming the key and the point. Coefficients with a physical sign (a diffusivity, a
viscosity, Lame parameters) are checked against the constraints their PDE type declares
(:attr:`sciml.problems.pdes.PDESpec.constraints`), with the physical reason.

Expressions that call a problem family's random input functions are checked on each drawn
member instead (:func:`sciml.problems.family.sample_member`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from .. import bcs
from ..errors import ProblemError
from ..geometry.dims import is_coordinate, space_names
from .expr import Expr, _non_finite_reason
from .problem import Problem

N_INTERIOR, N_BOUNDARY, N_TIMES = 1500, 600, 6
GRID = {1: 401, 2: 41, 3: 13}  # nodes per axis of the regular grid among the samples


def check_problem(problem: Problem, drawn: Iterable[str] = ()) -> None:
    """Raise :class:`ProblemError` (file, key, point) for a non-finite value of any expression
    or a coefficient that breaks its physical constraint. With ``drawn`` (the random inputs
    just bound in a family member) only the expressions that use them are checked: the others
    were checked when the family file loaded.

    Examples
    --------
    >>> from sciml.problems import problem_from_dict
    >>> problem_from_dict({"pde": {"type": "poisson", "f": "sqrt(x - 0.5)"},
    ...                    "domain": {"type": "interval", "bounds": [0, 1]},
    ...                    "boundary": [{"type": "dirichlet"}]})   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sciml.errors.ProblemError: [pde.f]: evaluates to nan at x = ... (not a real number: ...)
    """
    drawn = frozenset(drawn)
    unbound = _functions(problem)

    def wanted(expr: Expr) -> bool:
        if drawn:
            return bool(expr.used & drawn)
        return not expr.depends_on(*unbound)  # a family's random input: checked on each member

    samples = _Samples(problem)
    for key, expr, make_env in _expressions(problem, samples):
        if wanted(expr):
            env = make_env()
            values = expr.numpy(**{k: v for k, v in env.items() if k in expr.free})
            _finite(values, key, env, problem)
    if problem.domain is not None:
        _constraints(problem, samples.volume, wanted)
        if not drawn:
            _coverage(problem, samples.boundary)


def _functions(problem: Problem) -> tuple[str, ...]:
    family = problem.family
    if family is None or family.drawn is not None:
        return ()
    return tuple(i.name for i in family.inputs)


class _Samples:
    """Points where a problem's expressions are evaluated (float64, seeded: a check gives the
    same verdict every time)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.rng = np.random.default_rng(0)
        span = problem.time
        self.times = np.linspace(span.start, span.end, N_TIMES) if span is not None else None

    @functools.cached_property
    def space(self) -> np.ndarray:
        """Random interior points, a regular grid (it hits the "round" points such as x = 0.5)
        or the mesh's own nodes, and boundary points."""
        domain = self.problem.domain
        space = [domain.sample_interior(N_INTERIOR, rng=self.rng)]
        nodes = getattr(domain, "mesh_data", None)
        if nodes is None and domain.dim in GRID:
            axes, mask = domain.grid(GRID[domain.dim])
            space.append(np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)[mask])
        elif nodes is not None:
            space.append(nodes.points[self.rng.permutation(len(nodes.points))[:N_INTERIOR]])
        space.append(self.boundary.points)
        return np.concatenate(space)

    @functools.cached_property
    def boundary(self) -> Any:
        return self.problem.domain.sample_boundary(N_BOUNDARY, rng=self.rng)

    def env(self, space: np.ndarray, timed: bool = True) -> dict[str, np.ndarray]:
        """Coordinates of ``space`` at every sampled time (or at none)."""
        if self.times is None or not timed:
            return dict(zip(space_names(space.shape[1]), space.T))
        grid = np.repeat(space, len(self.times), axis=0)
        out = dict(zip(space_names(space.shape[1]), grid.T))
        out["t"] = np.tile(self.times, len(space))
        return out

    def volume(self) -> dict[str, np.ndarray]:
        """The closed domain at every sampled time."""
        return self.env(self.space)

    def volume_and_u(self) -> dict[str, np.ndarray]:
        """The closed domain at every sampled time, with values ``u`` of the initial data's range."""
        volume = self.volume()
        u = self.initial_range() if self.problem.transient else np.zeros(1)
        return {**volume, "u": np.resize(u, len(next(iter(volume.values()))))}

    def start(self) -> dict[str, np.ndarray]:
        """The closed domain (initial values)."""
        return self.env(self.space, timed=False)

    def boundary_points(self) -> dict[str, np.ndarray]:
        """The boundary (where predicates)."""
        return self.env(self.boundary.points, timed=False)

    def covered(self, bc: Any) -> dict[str, np.ndarray]:
        """The boundary points ``bc`` covers, at every sampled time."""
        sample = self.boundary
        return self.env(sample.points[bc.matches(sample.points, sample.tags)])

    def initial_range(self) -> np.ndarray:
        """Values between the initial data's extremes (a flux or reaction's arguments)."""
        p = self.problem
        skip = _functions(p)
        values = [p.initial[f].numpy(**self.env(self.space, timed=False)) for f in p.fields
                  if f in p.initial and not p.initial[f].depends_on(*skip)]
        values = np.concatenate(values) if values else np.zeros(1)
        finite = values[np.isfinite(values)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        return np.linspace(lo, hi, 64)


def _expressions(problem: Problem, samples: _Samples
                 ) -> Iterator[tuple[str, Expr, Callable[[], dict[str, np.ndarray]]]]:
    """Every expression of ``problem`` with its key and a function giving the values of the
    names it may use (called only for the expressions checked)."""
    p = problem
    if p.domain is None:  # an ODE system: its right-hand side at the initial state
        y0 = {v: float(p.initial[v].numpy()) for v in p.fields}
        t = samples.times
        env = {**{v: np.full(len(t), y) for v, y in y0.items()}, "t": t}
        for key, expr in _named("pde", p.pde.coefs):
            yield key, expr, functools.partial(dict, env)
        for key, expr in _named("exact", p.exact):
            yield key, expr, functools.partial(dict, t=t)
        return
    for key, expr in _named("pde", p.pde.coefs):  # a flux F(u) or a reaction r(u, x, t) takes u
        if all(is_coordinate(n) or n == "u" for n in expr.free):  # not a custom residual (fields, derivatives)
            yield key, expr, (samples.volume_and_u if expr.depends_on("u") else samples.volume)
    for key, expr in _named("initial", p.initial):
        yield key, expr, samples.start
    for key, expr in _named("exact", p.exact):
        yield key, expr, samples.volume
    for i, bc in enumerate(p.boundaries):
        if bc.predicate is not None:
            yield f"boundary.{i}.where", bc.predicate, samples.boundary_points
        if not bcs.get(bc.type).data_values:  # expressions in the fields: checked as the loss evaluates them
            continue
        for key, expr in _named(f"boundary.{i}", {"value": bc.value, "alpha": bc.alpha}):
            yield key, expr, functools.partial(samples.covered, bc)


def _named(prefix: str, table: Mapping[str, Any]) -> Iterator[tuple[str, Expr]]:
    for name, value in table.items():
        if isinstance(value, Expr):
            yield f"{prefix}.{name}", value
        elif isinstance(value, tuple):
            for j, item in enumerate(value):
                if isinstance(item, Expr):
                    yield (f"{prefix}.{name}" if len(value) == 1 else f"{prefix}.{name}.{j}"), item


def _point(env: Mapping[str, np.ndarray], i: int) -> str:
    return ", ".join(f"{k} = {float(v[i]):.6g}" for k, v in env.items() if np.ndim(v) and len(v) > i)


def _finite(values: np.ndarray, key: str, env: Mapping[str, np.ndarray], problem: Problem) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        value = float(np.ravel(values)[i])
        where = _point(env, i) if np.ndim(values) else "every point"
        raise ProblemError(f"evaluates to {value} at {where} ({_non_finite_reason(value)})",
                           problem.source, key)


def _constraints(problem: Problem, points: Callable[[], Mapping[str, np.ndarray]],
                 wanted: Callable[[Expr], bool]) -> None:
    """The physical constraints of the PDE type, on the sampled ``points`` (those with a
    ``wanted`` expression)."""
    for constraint in problem.pde.spec.constraints:
        if constraint.transient is not None and constraint.transient != problem.transient:
            continue
        found = constraint.exprs(problem.pde)
        if found is None:
            continue
        key, exprs = found
        if not any(wanted(e) for e in exprs) or any(e.depends_on(*_functions(problem)) for e in exprs):
            continue
        volume = points()
        values = [e.numpy(**{k: v for k, v in volume.items() if k in e.free}) for e in exprs]
        quantity = np.broadcast_to(constraint.combine(*values), np.shape(next(iter(volume.values()))))
        ok = quantity > constraint.lower if constraint.strict else quantity >= constraint.lower
        if not np.all(ok):
            i = int(np.flatnonzero(~ok)[0])
            raise ProblemError(f"{constraint.why}; here {constraint.label} = {float(quantity[i]):.6g} "
                               f"at {_point(volume, i)}", problem.source, f"pde.{key}")


def _coverage(problem: Problem, sample: Any) -> None:
    """Refuse a boundary condition that would be ignored: one whose predicate covers no sampled
    boundary point, or whose points are all taken by an earlier entry (the first match wins)."""
    owner = problem.assign_boundary(sample.points, sample.tags)
    for i, bc in enumerate(problem.boundaries):
        if not bcs.get(bc.type).covers_points or (owner == i).any():
            continue
        hit = bc.matches(sample.points, sample.tags)
        if hit.any():
            first = int(np.min(owner[hit]))
            raise ProblemError(f"never applies: every boundary point it covers is taken by boundary.{first} "
                               "first (the first matching entry wins)", problem.source, f"boundary.{i}.where")
        if bc.predicate is not None:
            raise ProblemError(f"{bc.where!r} covers none of {len(sample.points)} boundary points sampled "
                               "over the whole boundary", problem.source, f"boundary.{i}.where")
