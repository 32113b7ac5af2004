"""Finite differences on regular grids: the 3/5/7-point Laplacian and the variable-coefficient
operator ``-div(k grad u)`` with Dirichlet boundaries, for grid-based solvers and data sets.

Unknowns are the interior nodes of a grid with ``n`` intervals per axis, ordered ``ij`` (C
order). Face coefficients are arithmetic means of the nodal ``k`` (the scheme of the FNO Darcy
data generator, Li et al., ICLR 2021). :func:`solve_grid` solves steady Poisson and Helmholtz
problems on boxes with it (``[reference] method = "fd"``).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ProblemError, SolverError
from ..geometry import Box, Interval
from ..pdes.base import ScalarForm
from ..problems import Problem


def _second_difference(n: int, h: float) -> sp.csr_matrix:
    m = n - 1
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1]) / h**2


def laplacian(n: tuple[int, ...], h: tuple[float, ...]) -> sp.csr_matrix:
    """The negative Laplacian ``-lap`` (3-, 5- or 7-point stencil) on interior nodes with
    homogeneous Dirichlet values; ``n`` intervals and spacing ``h`` per axis."""
    mats = [_second_difference(ni, hi) for ni, hi in zip(n, h)]
    eyes = [sp.identity(ni - 1) for ni in n]
    out = sp.csr_matrix((int(np.prod([ni - 1 for ni in n])),) * 2)
    for axis in range(len(n)):
        term = None
        for k in range(len(n)):
            factor = mats[k] if k == axis else eyes[k]
            term = factor if term is None else sp.kron(term, factor)
        out = out + term
    return out.tocsr()


def _faces(k: np.ndarray, h: tuple[float, ...]) -> Iterator[tuple[int, int, np.ndarray, tuple[slice, ...]]]:
    """For each axis and direction: ``(axis, step, face coefficient / h^2 on interior nodes,
    the neighbours' slice of the full grid)``."""
    inner = tuple(slice(1, -1) for _ in k.shape)
    for axis, hk in enumerate(h):
        for step in (-1, 1):
            nb = list(inner)
            nb[axis] = slice(1 + step, k.shape[axis] - 1 + step)
            yield axis, step, 0.5 * (k[inner] + k[tuple(nb)]) / hk**2, tuple(nb)


def diffusion_operator(k: np.ndarray, h: tuple[float, ...]) -> sp.csr_matrix:
    """``-div(k grad u)`` on interior nodes, from nodal ``k`` on the full grid (shape
    ``(n_1 + 1, ..., n_d + 1)``), homogeneous Dirichlet boundaries."""
    k = np.asarray(k, dtype=float)
    shape = tuple(s - 2 for s in k.shape)
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    diag = np.zeros(shape)
    rows, cols, vals = [], [], []
    for axis, step, face, _ in _faces(k, h):
        diag += face
        src = np.ones(shape, dtype=bool)
        sl = [slice(None)] * len(shape)
        sl[axis] = 0 if step < 0 else -1
        src[tuple(sl)] = False  # neighbour is a boundary node: Dirichlet, drops out
        shifted = np.roll(index, -step, axis=axis)
        rows.append(index[src])
        cols.append(shifted[src])
        vals.append(-face[src])
    rows.append(index.ravel())
    cols.append(index.ravel())
    vals.append(diag.ravel())
    return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(size, size)).tocsr()


def boundary_lift(k: np.ndarray, h: tuple[float, ...], g: np.ndarray) -> np.ndarray:
    """The right-hand-side contribution of Dirichlet values ``g`` (full grid, boundary nodes
    used) to the interior equations of :func:`diffusion_operator`."""
    inner = tuple(slice(1, -1) for _ in g.shape)
    edge = np.array(g, dtype=float)
    edge[inner] = 0.0
    out = np.zeros(tuple(s - 2 for s in g.shape))
    for _, _, face, nb in _faces(np.asarray(k, dtype=float), h):
        out += face * edge[nb]
    return out


def grid_nodes(problem: Problem, nodes: int | None, h: float) -> list[np.ndarray]:
    """The axes of the FD grid: ``nodes`` per axis, else the output grid of a ``grid``-layout
    family, else spacing ``h`` (rounded to whole intervals)."""
    lo, hi = problem.domain.bounds
    if nodes is None and problem.family is not None and problem.family.layout == "grid":
        nodes = problem.family.points
    if nodes is not None:
        counts = [int(nodes)] * problem.dim
    else:
        counts = [max(2, int(round((b - a) / h))) + 1 for a, b in zip(lo, hi)]
    if min(counts) < 3:
        raise ProblemError(f"the fd reference needs at least 3 nodes per axis, got {min(counts)}", problem.source,
                           "reference.nodes")
    return [np.linspace(a, b, n) for a, b, n in zip(lo, hi, counts)]


def _sparse_lu(A: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    return spla.spsolve(A.tocsc(), rhs)


def _plain(form: ScalarForm) -> bool:
    """Whether a scalar form is ``-div(k grad u) + c u = f`` with a scalar ``k``."""
    still = form.velocity is None or all(v.is_constant and float(v.numpy()) == 0.0 for v in form.velocity)
    return still and form.nonlinear is None and form.axes is None and form.tensor is None


def solve_grid(problem: Problem, axes: list[np.ndarray],
               linear_solver: Callable[[sp.csr_matrix, np.ndarray], np.ndarray] = _sparse_lu) -> np.ndarray:
    """Solve a steady scalar problem ``-div(k grad u) + c u = f`` (the PDE type's
    :class:`~sciml.pdes.base.ScalarForm` without transport, anisotropy or nonlinearity: poisson,
    helmholtz, reaction-diffusion) with Dirichlet boundaries on a box by second-order finite
    differences on the grid ``axes``; returns nodal values, shape ``(n_1, ..., n_d)``.
    ``linear_solver(A, rhs)`` solves the interior system (default: sparse LU)."""
    where = "reference.method"
    form = problem.pde.spec.scalar_form(problem)
    if form is None or problem.transient or not _plain(form):
        raise ProblemError("the fd reference solves steady -div(k grad u) + c u = f (isotropic k, no transport or "
                           f"nonlinear term), not this {problem.pde.type} problem; use method = \"fem\"",
                           problem.source, where)
    if not isinstance(problem.domain, (Box, Interval)):
        raise ProblemError("the fd reference needs an interval or box domain; use method = \"fem\"",
                           problem.source, where)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    shape = grid.shape[:-1]
    pts = grid.reshape(-1, problem.dim)
    on_edge = np.zeros(shape, dtype=bool)
    for axis in range(problem.dim):
        sl = [slice(None)] * problem.dim
        for end in (0, -1):
            sl[axis] = end
            on_edge[tuple(sl)] = True
    edge_pts = pts[on_edge.ravel()]
    tags = np.asarray(problem.domain.tags, dtype=str)[problem.domain.piece_of(edge_pts)]
    which = problem.assign_boundary(edge_pts, tags)
    if (which < 0).any() or any(problem.boundaries[i].type != "dirichlet" for i in set(which.tolist())):
        raise ProblemError("the fd reference takes Dirichlet conditions on the whole boundary; use method = \"fem\"",
                           problem.source, where)
    g = np.zeros(shape)
    edge_values = np.zeros(len(edge_pts))
    for i in set(which.tolist()):
        hit = which == i
        edge_values[hit] = problem.boundaries[i].values(edge_pts[hit])[:, 0]
    g[on_edge] = edge_values
    h = tuple(float(a[1] - a[0]) for a in axes)
    k = np.broadcast_to(form.diffusion(pts), len(pts)).reshape(shape)
    A = diffusion_operator(k, h)
    inner = tuple(slice(1, -1) for _ in shape)
    if not (form.reaction.is_constant and float(form.reaction.numpy()) == 0.0):
        c = np.broadcast_to(form.reaction(pts), len(pts)).reshape(shape)[inner]
        A = A + sp.diags(c.ravel())
    rhs = np.broadcast_to(form.source(pts), len(pts)).reshape(shape)[inner] + boundary_lift(k, h, g)
    u = g.copy()
    u[inner] = linear_solver(A.tocsr(), rhs.ravel()).reshape(rhs.shape)
    if not np.isfinite(u).all():
        raise SolverError("the fd reference system is singular (a Helmholtz resonance?)")
    return u
