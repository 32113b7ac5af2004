"""The ``Problem``: a validated problem file (PDE, domain, boundary, time, exact solution)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import bcs
from ..errors import ProblemError
from ..geometry import Domain
from .expr import Expr, coordinates
from .pdes import PDE



@dataclass(frozen=True)
class BoundaryCondition:
    """One ``[[boundary]]`` entry.

    Attributes
    ----------
    where
        ``all``, a boundary tag (a piece of an analytic domain or a mesh physical group) or a
        predicate expression in the coordinates.
    type
        The kind, a module of :mod:`sciml.bcs`: ``dirichlet``, ``neumann``, ``robin``, ``cauchy``
        (``linear`` problems: ``u`` and ``du/dn`` together, the initial line of a wave),
        ``periodic`` or ``slip`` (an impermeable wall, ``u.n = 0``: euler problems).
    value
        Expression(s): the prescribed value, flux (Neumann/Robin right-hand side) or traction;
        cauchy: the value and then ``du/dn``.
    alpha
        Robin coefficient (``flux + alpha u = value``).
    components
        Elasticity Dirichlet: which displacement components are fixed (default both).
    axis
        Periodic: the axis whose two end faces are identified.
    """

    where: str
    type: str
    value: tuple[Expr, ...] = ()
    alpha: Expr | None = None
    predicate: Expr | None = None
    components: tuple[int, ...] = ()
    axis: int = 0

    def matches(self, points: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Which boundary points (with their piece/tag names) this condition covers."""
        if self.where in ("all", "boundary"):
            return np.ones(len(points), dtype=bool)
        if self.predicate is not None:
            return np.asarray(self.predicate.numpy(**coordinates(points)), dtype=bool)
        names = np.asarray(tags, dtype=str)
        return (names == self.where) | np.char.startswith(names, self.where + "_")

    def values(self, points: np.ndarray, t: Any = None) -> np.ndarray:
        """The prescribed data at points, ``(n, len(value))``."""
        return np.stack([v(points, t) for v in self.value], axis=1)


@dataclass(frozen=True)
class TimeSpan:
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Problem:
    """A validated problem. Build it with :func:`sciml.problems.load_problem`."""

    name: str
    pde: PDE
    domain: Domain | None
    boundaries: tuple[BoundaryCondition, ...] = ()
    time: TimeSpan | None = None
    initial: Mapping[str, Expr] = field(default_factory=dict)
    exact: Mapping[str, Expr] = field(default_factory=dict)
    parameters: Mapping[str, float] = field(default_factory=dict)
    reference: Mapping[str, Any] = field(default_factory=dict)
    solver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    family: Any = None  # a FamilySpec (sciml.problems.family) for problem families
    inverse: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    source: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        """Space dimension (0 for ODE systems)."""
        return self.domain.dim if self.domain is not None else 0

    @property
    def fields(self) -> tuple[str, ...]:
        return self.pde.fields(self.dim)

    @property
    def transient(self) -> bool:
        return self.time is not None

    @property
    def input_dim(self) -> int:
        """Columns of evaluation points: space, then t when the problem is time-dependent."""
        return self.dim + (1 if self.transient else 0)

    @property
    def has_exact(self) -> bool:
        return bool(self.exact)

    def options_for(self, solver: str) -> dict[str, Any]:
        """Options from ``[solver.<name>]`` (and ``[reference]`` for the reference solver)."""
        opts = dict(self.reference) if solver == "reference" else {}
        opts.update(self.solver_options.get(solver, {}))
        return opts

    def split(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Split evaluation points into space ``(n, dim)`` and time ``(n,)`` (or None)."""
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != self.input_dim:
            raise ProblemError(f"points must have shape (n, {self.input_dim}) for {self.name} "
                               f"({'space, t' if self.transient else 'space'}), got {points.shape}")
        if self.transient:
            return points[:, : self.dim], points[:, -1]
        return points, None

    def exact_values(self, points: np.ndarray) -> np.ndarray:
        """The exact solution at ``points`` ``(n, input_dim)`` as ``(n, n_fields)``."""
        if not self.exact:
            raise ProblemError(f"{self.name} has no [exact] solution")
        space, t = self.split(points)
        if self.dim == 0:
            env = {"t": t}
            return np.stack([self.exact[f].numpy(**env) for f in self.fields], axis=1)
        return np.stack([self.exact[f](space, t) for f in self.fields], axis=1)

    def assign_boundary(self, points: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """Index of the first non-periodic ``[[boundary]]`` entry covering each point, -1 if
        none (the natural zero-flux condition then applies)."""
        out = np.full(len(points), -1, dtype=np.int64)
        for i, bc in enumerate(self.boundaries):
            if not bcs.get(bc.type).covers_points:  # periodic: faces paired, not points
                continue
            hit = (out < 0) & bc.matches(points, tags)
            out[hit] = i
        return out

    def evaluation_points(self, n_space: int | None = None, n_time: int = 51) -> np.ndarray:
        """Points where metrics are taken: a uniform grid inside the domain (mesh nodes for
        mesh domains), times ``n_time`` instants for transient problems; above three dimensions
        ``n_space`` (20,000) quasi-random points, each at a random time when transient."""
        from ..geometry import MeshDomain

        if self.dim == 0:
            return np.linspace(self.time.start, self.time.end, 2001)[:, None]
        if self.dim > 3:  # a grid would be too large: quasi-random points (and times), seeded
            rng = np.random.default_rng(0)
            space = self.domain.sample_interior(n_space or 20000, "sobol", rng)
            if not self.transient:
                return space
            return np.column_stack([space, self.time.start + self.time.length * rng.random(len(space))])
        if isinstance(self.domain, MeshDomain):
            space = self.domain.mesh_data.points
        else:
            n = n_space or {1: 1001, 2: 161, 3: 31}[self.dim]
            axes, mask = self.domain.grid(n)
            space = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)[mask]
        if not self.transient:
            return space
        times = np.linspace(self.time.start, self.time.end, n_time)
        return np.concatenate([np.column_stack([space, np.full(len(space), t)]) for t in times])
