"""``Solution``: a solver's values plus evaluation anywhere in the domain (and time), metrics
against an exact or reference solution, and output to HDF5, VTU (ParaView) and PNG.

Points given to a solution carry the space coordinates and, for time-dependent problems, ``t``
as the last column. ODE solutions take ``t`` alone.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from .errors import OutsideDomainWarning, ProblemError, SolverError
from .geometry import Mesh
from .io import atomic_write, staged_folder
from .netcdf import axis_names
from .solution_h5 import read_h5, write_h5
from .network_file import NAME as NETWORK
from .network_file import write_network
from .vtk import write_vtk

if TYPE_CHECKING:
    from .problems import Problem

KINDS = ("mesh", "grid", "points")


@dataclass
class Solution:
    """Values of a solution on its own points, with interpolation.

    Parameters
    ----------
    problem
        Name of the problem.
    solver
        Name of the solver.
    fields
        Component names (``u``; ``ux, uy``; ODE variables).
    kind
        ``mesh`` (P1 interpolation on ``cells``), ``grid`` (multilinear on ``axes``) or ``points``
        (scattered; piecewise-linear on a Delaunay triangulation unless ``evaluator`` is given).
    points
        Spatial nodes ``(n, d)`` (for ``grid``, the flattened ``ij``-ordered grid).
    values
        ``(n, c)`` for steady problems, ``(nt, n, c)`` with ``times`` for transient ones.
    evaluator
        Optional callable ``points -> values`` (a trained network) used by ``__call__``.
    info
        Free metadata saved with the solution (timings, options).
    coefficients
        Coefficient functions an inverse problem identified, at the spatial nodes ``(n,)``
        (``NAME`` recovered, ``NAME_true`` the truth of ``[pde]``); written beside the solution.
    axis_names
        Names of the space axes in the output files (default ``x, y, z``; an ODE's is ``t``).
    network
        The trained network of a network solver (:func:`sciml.network_file.network_payload`),
        saved as ``network.pt`` so that :meth:`load` evaluates it again.
    domain, span
        Where the solution is defined: a :class:`sciml.geometry.Domain` (for ODE solutions the
        time interval) and, for transient problems, the time interval. Set by
        :meth:`attach`; points outside evaluate to NaN.
    """

    problem: str
    solver: str
    fields: tuple[str, ...]
    kind: str
    points: np.ndarray
    values: np.ndarray
    cells: np.ndarray | None = None
    axes: Sequence[np.ndarray] | None = None
    times: np.ndarray | None = None
    evaluator: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    info: dict[str, Any] = field(default_factory=dict)
    domain: Any = field(default=None, repr=False)
    span: tuple[float, float] | None = None
    coefficients: dict[str, np.ndarray] = field(default_factory=dict)
    axis_names: tuple[str, ...] | None = None
    network: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown solution kind {self.kind!r}")
        self.points = np.asarray(self.points, dtype=float)
        self.values = np.asarray(self.values, dtype=float)
        expected = 3 if self.times is not None else 2
        if self.values.ndim != expected or self.values.shape[-1] != len(self.fields) \
                or self.values.shape[-2] != len(self.points):
            raise ValueError(f"values of shape {self.values.shape} do not match {len(self.points)} "
                             f"points and fields {self.fields}")
        if self.axis_names is None:
            self.axis_names = axis_names(self.points.shape[1])
        elif len(self.axis_names) != self.points.shape[1]:
            raise ValueError(f"axis names {self.axis_names} for {self.points.shape[1]}D points")
        self._locator: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def transient(self) -> bool:
        return self.times is not None

    def attach(self, problem: "Problem") -> "Solution":
        """Record where ``problem`` is defined (its domain and time interval); returns self."""
        from .geometry import Interval

        if problem.dim == 0:
            self.domain = Interval(problem.time.start, problem.time.end)
        else:
            self.domain = problem.domain
            self.span = (problem.time.start, problem.time.end) if problem.transient else None
        return self

    # -- evaluation -----------------------------------------------------------------------------
    def outside(self, points: np.ndarray) -> np.ndarray:
        """Which of ``points`` lie outside the domain or the time interval (False everywhere
        when the solution does not know its domain)."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        out = np.zeros(len(points), dtype=bool)
        if self.domain is not None:
            lo, hi = self.domain.bounds
            tol = 1e-9 * max(1.0, float(np.max(np.asarray(hi) - np.asarray(lo))))
            out |= ~self.domain.contains(points[:, : self.dim], tol=tol)
        if self.span is not None and self.transient:
            t0, t1 = self.span
            tol = 1e-9 * max(1.0, t1 - t0)
            out |= (points[:, -1] < t0 - tol) | (points[:, -1] > t1 + tol)
        return out

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Values at ``points`` ``(n, d [+1 for t])`` as ``(n, n_fields)``; NaN (with one warning
        giving their count) at points outside the domain or the time interval."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        need = self.dim + (1 if self.transient else 0)
        if points.ndim != 2 or points.shape[1] != need:
            raise ProblemError(f"points need {need} columns, got shape {points.shape}")
        if not np.isfinite(points).all():
            raise ProblemError("points must be finite numbers")
        outside = self.outside(points)
        if not outside.any():
            return self._values(points)
        warnings.warn(f"{int(outside.sum())} of {len(points)} points lie outside the domain"
                      f"{' or the time interval' if self.transient else ''}; their values are NaN",
                      OutsideDomainWarning, stacklevel=2)
        out = np.full((len(points), len(self.fields)), np.nan)
        if not outside.all():
            out[~outside] = self._values(points[~outside])
        return out

    def _values(self, points: np.ndarray) -> np.ndarray:
        if self.evaluator is not None:
            return np.asarray(self.evaluator(points), dtype=float).reshape(len(points), -1)
        space, inverse = np.unique(points[:, : self.dim], axis=0, return_inverse=True)
        idx, w = self._locate(space)
        idx, w = idx[inverse.ravel()], w[inverse.ravel()]
        if not self.transient:
            return np.einsum("pk,pkc->pc", w, self.values[idx])
        t = np.clip(points[:, -1], self.times[0], self.times[-1])
        i = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, max(len(self.times) - 2, 0))
        j = np.minimum(i + 1, len(self.times) - 1)
        span = np.where(j > i, self.times[j] - self.times[i], 1.0)
        a = ((t - self.times[i]) / span)[:, None]
        ui = np.einsum("pk,pkc->pc", w, self.values[i[:, None], idx])
        uj = np.einsum("pk,pkc->pc", w, self.values[j[:, None], idx])
        return (1 - a) * ui + a * uj

    def _locate(self, space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "mesh":
            mesh = self._mesh()
            cells, bary = mesh.locate(space)
            return mesh.cells[cells], bary
        if self.kind == "grid":
            return _grid_weights(self.axes, space)
        return _scattered_weights(self.points, space)

    def _mesh(self) -> Mesh:
        if getattr(self, "_mesh_cache", None) is None:
            self._mesh_cache = Mesh(self.points, self.cells)
        return self._mesh_cache

    def final(self) -> np.ndarray:
        """Values at the last time (or the steady values) ``(n, c)``."""
        return self.values[-1] if self.transient else self.values

    # -- output -------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, png: bool = True) -> list[Path]:
        """Write ``solution.h5``, ``solution.vtu`` (with ``solution.pvd`` and ``steps/`` when
        transient; :mod:`sciml.vtk`) and ``solution.png`` into ``directory``, all
        at once: into a temporary folder beside it, moved into place when every file is
        written, so a failure (a full disk included) leaves no new file."""
        directory = Path(directory)
        with staged_folder(directory) as tmp:
            names = [p.relative_to(tmp) for p in self.write_files(tmp, png)]
        return [directory / name for name in names]

    def write_files(self, directory: Path, png: bool = True) -> list[Path]:
        """Write the solution's files into the existing folder ``directory`` (the staging
        folder of :meth:`save` or of ``sciml solve``)."""
        written = [self._write_h5(directory / "solution.h5"), *write_vtk(self, directory)]
        if self.network is not None:
            written.append(write_network(self.network, directory / NETWORK))
        if png and self.dim <= 3:  # no picture of a solution in more than three dimensions
            from .plotting import plot_solution

            written.append(atomic_write(directory / "solution.png", lambda tmp: plot_solution(self, tmp)))
            if self.coefficients:
                names = tuple(self.coefficients)
                table = Solution(self.problem, self.solver, names, self.kind, self.points,
                                 np.stack([self.coefficients[n] for n in names], axis=1), self.cells, self.axes)
                written.append(atomic_write(directory / "coefficients.png", lambda tmp: plot_solution(table, tmp)))
        return written

    def _write_h5(self, path: Path) -> Path:
        return atomic_write(path, lambda tmp: write_h5(self, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Solution":
        """Read a ``solution.h5`` written by :meth:`save` (or the folder holding it). When the
        folder holds the solver's ``network.pt``, the solution evaluates the rebuilt network
        (checked against the stored values) on the problem's own domain, as it did when solved.

        Examples
        --------
        >>> import tempfile
        >>> from sciml.problems import load_problem
        >>> from sciml.runner import run
        >>> sol, _ = run(load_problem("poisson-square", ["reference.h=0.2"]))
        >>> folder = tempfile.mkdtemp()
        >>> _ = sol.save(folder, png=False)
        >>> back = Solution.load(folder)
        >>> bool(abs(back([[0.5, 0.5]])[0, 0] - sol([[0.5, 0.5]])[0, 0]) < 1e-12)
        True
        """
        path = Path(path)
        if path.is_dir():
            path = path / "solution.h5"
        if not path.is_file():
            raise ProblemError(f"solution file not found: {path}")
        sol = cls(**read_h5(path))
        sol.domain = _stored_domain(sol)
        if sol.times is not None:
            sol.span = (float(sol.times[0]), float(sol.times[-1]))
        if (path.parent / NETWORK).is_file():
            from .network_file import restore

            sol.evaluator, problem = restore(path.parent, sol)
            sol.attach(problem)
        return sol


def _stored_domain(sol: Solution) -> Any:
    """The domain a saved solution covers: its mesh, the box of its grid axes, or unknown
    (scattered points)."""
    from .geometry import Box, MeshDomain

    if sol.kind == "mesh":
        return MeshDomain(Mesh(sol.points, sol.cells))
    if sol.kind == "grid" and sol.axes is not None and 1 <= len(sol.axes) <= 3:
        return Box(tuple(float(a[0]) for a in sol.axes), tuple(float(a[-1]) for a in sol.axes))
    return None


def _grid_weights(axes: Sequence[np.ndarray], pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multilinear interpolation: corner node indices and weights ``(n, 2^d)``."""
    d = len(axes)
    sizes = [len(a) for a in axes]
    lower, frac = [], []
    for k, ax in enumerate(axes):
        x = np.clip(pts[:, k], ax[0], ax[-1])
        i = np.clip(np.searchsorted(ax, x, side="right") - 1, 0, len(ax) - 2)
        lower.append(i)
        frac.append((x - ax[i]) / (ax[i + 1] - ax[i]))
    strides = np.cumprod([1] + sizes[::-1][:-1])[::-1]
    idx, w = [], []
    for corner in range(2**d):
        bits = [(corner >> (d - 1 - k)) & 1 for k in range(d)]
        idx.append(sum((lower[k] + bits[k]) * strides[k] for k in range(d)))
        w.append(np.prod([frac[k] if bits[k] else 1 - frac[k] for k in range(d)], axis=0))
    return np.stack(idx, axis=1), np.stack(w, axis=1)


def _scattered_weights(nodes: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-linear weights on a Delaunay triangulation of scattered nodes (nearest node
    outside their hull)."""
    from scipy.spatial import Delaunay, cKDTree

    if nodes.shape[1] == 1:
        order = np.argsort(nodes[:, 0])
        idx, w = _grid_weights([nodes[order, 0]], pts)
        return order[idx], w
    tri = Delaunay(nodes)
    s = tri.find_simplex(pts)
    T = tri.transform[s]
    b = np.einsum("nij,nj->ni", T[:, :-1], pts - T[:, -1])
    w = np.concatenate([b, 1 - b.sum(axis=1, keepdims=True)], axis=1)
    idx = tri.simplices[s]
    out = s < 0
    if out.any():
        _, near = cKDTree(nodes).query(pts[out])
        idx[out] = near[:, None]
        w[out] = 1.0 / idx.shape[1]
    return idx, w


def relative_l2(u: np.ndarray, ref: np.ndarray) -> float:
    """``||u - ref|| / ||ref||`` over all points and components."""
    denom = np.linalg.norm(ref)
    return float(np.linalg.norm(u - ref) / (denom if denom > 0 else 1.0))


def compare(solution: Solution, problem: "Problem", reference: Solution | None = None,
            points: np.ndarray | None = None) -> dict[str, Any]:
    """Relative L2 and max absolute error at the problem's evaluation points against the exact
    solution (when the problem has one) or ``reference``.

    Returns
    -------
    dict
        ``rel_l2``, ``max_abs_err``, ``compared_to`` (``exact``/``reference``/``none``) and
        ``n_eval_points``.
    """
    pts = problem.evaluation_points() if points is None else points
    if problem.has_exact:
        ref, kind = problem.exact_values(pts), "exact"
    elif reference is not None:
        ref, kind = reference(pts), "reference"
    else:
        return {"rel_l2": None, "max_abs_err": None, "compared_to": "none", "n_eval_points": len(pts)}
    u = solution(pts)
    metrics = {"rel_l2": relative_l2(u, ref), "max_abs_err": float(np.max(np.abs(u - ref))),
               "compared_to": kind, "n_eval_points": int(len(pts))}
    if not (np.isfinite(metrics["rel_l2"]) and np.isfinite(metrics["max_abs_err"])):
        raise SolverError(f"the error of {solution.solver} on {problem.name} against the {kind} solution "
                          "is not finite (non-finite values at the evaluation points)")
    return metrics


def summary_line(summary: Mapping[str, Any]) -> str:
    """One human-readable line of a solve summary."""
    err = summary.get("rel_l2")
    acc = (f"rel L2 {err:.3e} vs {summary['compared_to']}, max abs {summary['max_abs_err']:.3e}"
           if err is not None else f"max |u| = {summary['max_abs_value']:.4g} (no exact solution "
           "or reference to compare with)")
    line = f"{summary['problem']} / {summary['solver']}: {acc}, {summary['wall_s']:.2f} s"
    info = summary.get("info") or {}
    recovered = info.get("inverse") or {}
    parts = [f"{k} = {v['recovered']:.6g} (true {v['true']:.6g})" for k, v in recovered.items()]
    parts += [f"{k}(x) with rel L2 {v['rel_l2']:.3e}" for k, v in (info.get("inverse_fields") or {}).items()]
    if parts:
        line += "; recovered " + ", ".join(parts)
    return line
