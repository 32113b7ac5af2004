"""Rasterise a 2D problem's boundary conditions and source onto an image grid: the input
encoding of HyPINO (Bischof et al., 2025, the authors' ``src/data`` code).

Five channels on the grid ``x = linspace(x_lo, x_hi, n)``, ``y = linspace(y_hi, y_lo, n)`` (row 0
is the top, ``y = y_hi``): the Dirichlet mask, the Neumann mask, the Dirichlet values times their
mask, the Neumann data (the problem file's flux, ``du/dn`` where ``k = 1``) times their mask, and
the source ``f`` inside the
domain, compressed as ``sign(f) log(1 + |f|)``. Boundary channels come from ``3 x 2048`` random
boundary points: a pixel takes the condition of its nearest point when that point is closer than
``0.1 ln(1 / 0.8)`` (the code's ``exp(-d / 0.1) > 0.8``, about 2.5 pixels at 224^2), which gives
lines two to three pixels wide on each side of the boundary, as the network was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..errors import ProblemError
from .problem import Problem

CHANNELS = ("dirichlet_mask", "neumann_mask", "dirichlet_value", "neumann_value", "source")
WIDTH = 0.1 * math.log(1 / 0.8)  # the code's exp(-d / 0.1) > 0.8


@dataclass
class Raster:
    """The encoded problem: ``channels`` ``(5, n, n)`` in the order of :data:`CHANNELS`, on the
    axes ``x`` (columns, increasing) and ``y`` (rows, decreasing: row 0 is the top)."""

    x: np.ndarray
    y: np.ndarray
    channels: np.ndarray

    def channel(self, name: str) -> np.ndarray:
        return self.channels[CHANNELS.index(name)]


def compress(f: np.ndarray) -> np.ndarray:
    """``sign(f) log(1 + |f|)``: keeps sources of size 1e2-1e3 in the range the network saw."""
    return np.sign(f) * np.log1p(np.abs(f))


def rasterize(problem: Problem, n: int = 224, box: tuple[tuple[float, float], tuple[float, float]] = ((-1, 1), (-1, 1)),
              boundary_points: int = 3 * 2048, width: float = WIDTH, seed: int = 0) -> Raster:
    """Encode a steady 2D problem with Dirichlet and Neumann conditions (see the module
    docstring). ``box`` is the image's extent ``((x_lo, x_hi), (y_lo, y_hi))``; the domain must
    lie inside it."""
    if problem.dim != 2 or problem.transient:
        raise ProblemError(f"the raster encoding takes steady 2D problems; {problem.name} is "
                           f"{problem.dim}D{' and transient' if problem.transient else ''}", problem.source)
    if problem.pde.type not in ("poisson", "helmholtz", "convection_diffusion"):
        raise ProblemError(f"the raster encoding takes scalar problems, not {problem.pde.type}", problem.source,
                           "pde.type")
    (x_lo, x_hi), (y_lo, y_hi) = box
    lo, hi = problem.domain.bounds
    if lo[0] < x_lo - 1e-9 or lo[1] < y_lo - 1e-9 or hi[0] > x_hi + 1e-9 or hi[1] > y_hi + 1e-9:
        raise ProblemError(f"the domain [{lo[0]:g}, {hi[0]:g}] x [{lo[1]:g}, {hi[1]:g}] does not fit the image box "
                           f"{box}", problem.source, "domain")
    x, y = np.linspace(x_lo, x_hi, n), np.linspace(y_hi, y_lo, n)
    X, Y = np.meshgrid(x, y)  # rows follow y (top first), columns x
    pixels = np.stack([X.ravel(), Y.ravel()], axis=1)
    sample = problem.domain.sample_boundary(boundary_points, rng=np.random.default_rng(seed))
    which = problem.assign_boundary(sample.points, sample.tags)
    kinds = np.array([problem.boundaries[i].type if i >= 0 else "" for i in which])
    if set(kinds) - {"dirichlet", "neumann", ""}:
        raise ProblemError(f"the raster encoding takes Dirichlet and Neumann conditions, not "
                           f"{sorted(set(kinds) - {'dirichlet', 'neumann', ''})}", problem.source, "boundary")
    values = np.zeros(len(sample.points))
    for i in set(which.tolist()) - {-1}:
        hit = which == i
        values[hit] = problem.boundaries[i].values(sample.points[hit])[:, 0]
    distance, nearest = cKDTree(sample.points).query(pixels)
    near = distance < width
    channels = np.zeros((5, n * n))
    for k, kind in enumerate(("dirichlet", "neumann")):
        on = near & (kinds[nearest] == kind)
        channels[k, on] = 1.0
        channels[2 + k, on] = values[nearest[on]]
    inside = problem.domain.contains(pixels, tol=0.0)
    source = np.zeros(n * n)
    if inside.any():
        source[inside] = np.broadcast_to(problem.pde.f(pixels[inside]), int(inside.sum()))
    channels[4] = compress(source)
    return Raster(x, y, channels.reshape(5, n, n))
