"""A semi-Lagrangian grid scheme for transient convection-diffusion on a box: the classical
"grid at equal memory" baseline INSR (Chen et al., ICML 2023) is compared against.

Each step of size ``dt`` on a regular grid with ``n`` nodes per axis:

1. advection: trace every node back along the characteristic (midpoint rule,
   ``x* = x - dt b(x - dt/2 b(x, t_m), t_m)`` with ``t_m`` the mid-step time) and interpolate
   the old field there with cubic B-splines (:func:`scipy.ndimage.map_coordinates`, order 3);
   feet outside the box take the boundary data;
2. diffusion (``eps`` constant, optional): one implicit-Euler step with the 3/5/7-point
   Laplacian of :mod:`sciml.reference.fd`;
3. boundary nodes take the Dirichlet data at ``t_n+1``.

The number of unknowns is ``n ** dim``. Supported: ``convection_diffusion`` on intervals and
boxes with Dirichlet conditions everywhere, constant ``eps``, no reaction or source.
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.ndimage import map_coordinates

from ..errors import ProblemError
from ..geometry import Box, Interval
from ..pdes.base import ScalarForm
from ..problems import Problem
from ..solution import Solution
from .fd import laplacian


def _check(problem: Problem) -> ScalarForm:
    """The problem's transport form ``u_t + b.grad u = eps lap u`` (its PDE type's scalar form),
    refused, saying why, when the scheme does not cover it."""
    form = problem.pde.spec.scalar_form(problem)
    if form is None or form.velocity is None or not problem.transient:
        raise ProblemError("the semi-Lagrangian scheme solves transient transport u_t + b.grad u = eps lap u")
    if not isinstance(problem.domain, (Interval, Box)):
        raise ProblemError("the semi-Lagrangian scheme needs an interval or a box")
    if any(bc.type != "dirichlet" for bc in problem.boundaries) or not problem.boundaries:
        raise ProblemError("the semi-Lagrangian scheme needs Dirichlet conditions on the whole boundary")
    space = ("x", "y", "z")[: problem.dim]
    if form.diffusion.depends_on(*space, "t") or form.axes is not None or form.tensor is not None:
        raise ProblemError("the semi-Lagrangian scheme needs a constant, isotropic eps")
    if form.nonlinear is not None:
        raise ProblemError("the semi-Lagrangian scheme has no nonlinear reaction")
    for name, expr in (("c", form.reaction), ("f", form.source)):
        if not (expr.is_constant and float(_constant(expr)) == 0.0):
            raise ProblemError(f"the semi-Lagrangian scheme has no {name} term")
    return form


def _constant(expr: Any) -> float:
    """The value of a constant expression."""
    return float(np.ravel(expr(np.zeros((1, 3)), 0.0))[0])


def semi_lagrangian(problem: Problem, n: int, dt: float, n_out: int = 51) -> Solution:
    """Solve ``problem`` on a grid of ``n`` nodes per axis with steps of at most ``dt``.

    Returns a ``grid`` :class:`~sciml.solution.Solution` at about ``n_out`` kept times;
    ``info`` holds the unknown count, the step and the wall time.
    """
    form = _check(problem)
    if n < 3:
        raise ProblemError(f"the grid needs at least 3 nodes per axis, got {n}")
    start = _time.perf_counter()
    dim = problem.dim
    axes, _ = problem.domain.grid(n)
    lo, hi = problem.domain.bounds
    h = (hi - lo) / (n - 1)
    shape = (n,) * dim
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    inner = np.all((nodes > lo + 0.5 * h) & (nodes < hi - 0.5 * h), axis=1)
    t0, t1 = problem.time.start, problem.time.end
    steps = max(1, int(np.ceil((t1 - t0) / dt - 1e-9)))
    dt = (t1 - t0) / steps
    eps = _constant(form.diffusion)
    solve_diffusion = None
    if eps > 0:
        A = sp.identity(int(inner.sum())) + dt * eps * laplacian(tuple([n - 1] * dim), tuple(h))
        solve_diffusion = spla.factorized(A.tocsc())

    def velocity(x: np.ndarray, t: float) -> np.ndarray:
        return np.stack([np.broadcast_to(b(x, t), (len(x),)) for b in form.velocity], axis=1)

    def boundary(x: np.ndarray, t: float) -> np.ndarray:
        pieces = problem.domain.pieces
        tags = np.array([pieces[i].name for i in problem.domain.piece_of(x)], dtype=object)
        owner = problem.assign_boundary(x, tags)
        out = np.zeros(len(x))
        for i in np.unique(owner):
            sel = owner == i
            out[sel] = problem.boundaries[max(i, 0)].values(x[sel], t)[:, 0]
        return out

    u = problem.initial[problem.fields[0]](nodes)
    keep = set(np.unique(np.linspace(0, steps, min(n_out, steps + 1)).round().astype(int)).tolist())
    times, frames = [t0], [u.copy()]
    for k in range(steps):
        t, tm = t0 + k * dt, t0 + (k + 0.5) * dt
        mid = nodes - 0.5 * dt * velocity(nodes, tm)
        foot = nodes - dt * velocity(mid, tm)
        index = ((foot - lo) / h).T
        new = map_coordinates(u.reshape(shape), index, order=3, mode="nearest")
        outside = np.any((foot < lo) | (foot > hi), axis=1)
        if outside.any():
            new[outside] = boundary(np.clip(foot[outside], lo, hi), t)
        edge = boundary(nodes[~inner], t + dt)
        new[~inner] = edge
        if solve_diffusion is not None:
            lift = np.zeros(len(nodes))
            lift[~inner] = edge
            coupling = -dt * eps * _neighbour_sum(lift.reshape(shape), h)[inner.reshape(shape)]
            new[inner] = solve_diffusion(new[inner] - coupling)
        u = new
        if k + 1 in keep:
            times.append(t + dt)
            frames.append(u.copy())
    info = {"unknowns": int(n ** dim), "dt": dt, "steps": steps, "time_s": _time.perf_counter() - start,
            "method": "semi-Lagrangian, cubic B-spline interpolation" + (", implicit diffusion" if eps > 0 else "")}
    values = np.stack(frames)[:, :, None]
    return Solution(problem=problem.name, solver="semi_lagrangian", fields=problem.fields, kind="grid",
                    points=nodes, values=values, axes=axes, times=np.asarray(times), info=info)


def _neighbour_sum(lift: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``sum over axes of (lift[i-1] + lift[i+1]) / h^2`` for boundary values lifted onto the
    grid: what the interior Laplacian rows couple to."""
    out = np.zeros_like(lift)
    for axis, ha in enumerate(h):
        out += (np.roll(lift, 1, axis) + np.roll(lift, -1, axis)) / ha ** 2
    return out
