"""Collocation points for physics-informed losses, sampled from a problem's geometry.

A :class:`PointSampler` draws interior points (space x time for transient problems, time alone
for ODE systems), boundary points grouped by the ``[[boundary]]`` entry that covers them (with
outward normals), matched point pairs on the two faces of each periodic axis and initial-time
points. Everything here is NumPy; :mod:`sciml.nn.physics` turns a :class:`PointSet` into
tensors and coefficient values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import bcs
from ..errors import ProblemError
from ..geometry.sampling import METHODS, unit_points
from ..problems import Problem


@dataclass
class BoundaryPoints:
    """Boundary points covered by one condition (``index`` into ``problem.boundaries``; -1 for
    the natural zero-flux condition where no entry applies)."""

    index: int
    points: np.ndarray  # (n, input_dim)
    normals: np.ndarray  # (n, dim)


@dataclass
class PeriodicPairs:
    """Points on the low face of ``axis`` and their images on the high face."""

    axis: int
    lo: np.ndarray  # (n, input_dim)
    hi: np.ndarray


@dataclass
class PointSet:
    interior: np.ndarray
    boundary: list[BoundaryPoints] = field(default_factory=list)
    periodic: list[PeriodicPairs] = field(default_factory=list)
    initial: np.ndarray | None = None


class PointSampler:
    """Draws :class:`PointSet` s for ``problem``.

    Parameters
    ----------
    problem
        The problem whose geometry, time span and boundary conditions are sampled.
    n_interior, n_boundary, n_initial
        Points per draw (boundary points are shared among the pieces by measure; periodic
        pairs count as boundary points).
    method
        ``uniform``, ``random``, ``sobol`` or ``lhs`` (see :func:`sciml.geometry.sampling.unit_points`).
    seed
        Seed of the sampler's own generator (its state is part of training checkpoints).
    """

    def __init__(self, problem: Problem, n_interior: int, n_boundary: int, n_initial: int,
                 method: str = "random", seed: int = 0):
        if method not in METHODS:
            raise ProblemError(f"unknown sampling method {method!r} (choose from {', '.join(METHODS)})")
        for name, n in (("n_interior", n_interior), ("n_boundary", n_boundary), ("n_initial", n_initial)):
            if n < 1:
                raise ProblemError(f"{name} must be at least 1, got {n}")
        self.problem = problem
        self.n_interior, self.n_boundary, self.n_initial = n_interior, n_boundary, n_initial
        self.method = method
        self.rng = np.random.default_rng(seed)

    # -- checkpointing ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]

    # -- sampling -----------------------------------------------------------------------------
    def _times(self, n: int) -> np.ndarray:
        span = self.problem.time
        t = unit_points(n, 1, self.method, self.rng)[:, 0]
        return span.start + span.length * self.rng.permutation(t)

    def _with_time(self, space: np.ndarray) -> np.ndarray:
        if not self.problem.transient:
            return space
        return np.column_stack([space, self._times(len(space))])

    def interior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` interior points (space x time; time alone for ODE systems) from ``rng``."""
        p = self.problem
        if p.dim == 0:
            return p.time.start + p.time.length * unit_points(n, 1, "random", rng)
        space = p.domain.sample_interior(n, "random", rng)
        if not p.transient:
            return space
        return np.column_stack([space, p.time.start + p.time.length * rng.random(n)])

    def sample(self) -> PointSet:
        p = self.problem
        if p.dim == 0:
            t = p.time.start + p.time.length * unit_points(self.n_interior, 1, self.method, self.rng)
            return PointSet(interior=t, initial=np.array([[p.time.start]]))
        interior = self._with_time(p.domain.sample_interior(self.n_interior, self.method, self.rng))
        periodic = [b for b in p.boundaries if not bcs.get(b.type).covers_points]
        n_per = self.n_boundary // (2 * len(periodic) + 1) if periodic else 0
        boundary = self._boundary(self.n_boundary - 2 * n_per * len(periodic), periodic)
        pairs = [self._pairs(bc.axis, n_per) for bc in periodic]
        initial = None
        if p.transient:
            space = p.domain.sample_interior(self.n_initial, self.method, self.rng)
            initial = np.column_stack([space, np.full(len(space), p.time.start)])
        return PointSet(interior, boundary, pairs, initial)

    def _boundary(self, n: int, periodic: list) -> list[BoundaryPoints]:
        p = self.problem
        if n < 1:
            return []
        sample = p.domain.sample_boundary(n, self.method, self.rng)
        owner = p.assign_boundary(sample.points, sample.tags)
        lo, hi = p.domain.bounds
        on_periodic = np.zeros(len(owner), dtype=bool)
        for bc in periodic:
            coord = sample.points[:, bc.axis]
            tol = 1e-9 * (hi[bc.axis] - lo[bc.axis])
            on_periodic |= (np.abs(coord - lo[bc.axis]) < tol) | (np.abs(coord - hi[bc.axis]) < tol)
        owner[(owner < 0) & on_periodic] = -2
        points = self._with_time(sample.points)
        groups = [(int(i), np.flatnonzero(owner == i)) for i in np.unique(owner) if i >= -1]
        if p.dim == 1 and not p.transient:
            # a steady 1D boundary is two end points: the draw holds copies of them, whose mean
            # square is the point's own; one copy per entry costs 2 evaluations, not n
            groups = [(i, rows[np.unique(sample.points[rows, 0], return_index=True)[1]]) for i, rows in groups]
        return [BoundaryPoints(i, points[rows], sample.normals[rows]) for i, rows in groups]

    def _pairs(self, axis: int, n: int) -> PeriodicPairs:
        lo, hi = self.problem.domain.bounds
        dim = self.problem.dim
        u = unit_points(max(n, 1), dim, self.method, self.rng)
        space = lo + u * (hi - lo)
        a, b = space.copy(), space.copy()
        a[:, axis], b[:, axis] = lo[axis], hi[axis]
        if self.problem.transient:
            t = self._times(len(space))
            a, b = np.column_stack([a, t]), np.column_stack([b, t])
        return PeriodicPairs(axis, a, b)
