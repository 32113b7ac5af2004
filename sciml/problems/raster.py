"""Rasterise a 2D problem's boundary conditions and source onto an image grid: the input
encoding of HyPINO (Bischof et al., 2025, the authors' ``src/data`` code).

Five channels on the grid ``x = linspace(x_lo, x_hi, n)``, ``y = linspace(y_hi, y_lo, n)`` (row 0
is the top, ``y = y_hi``): the Dirichlet mask, the Neumann mask, the Dirichlet values times their
mask, the Neumann data ``du/dn`` times their mask, and the source ``f`` inside the domain,
compressed as ``sign(f) log(1 + |f|)``. Boundary channels come from random boundary points
(``3 x 2048`` in the paper): a pixel takes the conditions of its nearest point when that point is
closer than ``width``, by default 2.5 pixel spacings (the code's ``exp(-d / 0.1) > 0.8`` at
224^2, ``0.1 ln(1 / 0.8)``), which gives lines two to three pixels wide on each side of the
boundary, as the network was trained on. A ``cauchy`` edge (the initial line of a wave) sets
both masks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..errors import ProblemError
from .linear import coefficients, neumann_factor
from .problem import Problem

CHANNELS = ("dirichlet_mask", "neumann_mask", "dirichlet_value", "neumann_value", "source")
WIDTH_224 = 0.1 * math.log(1 / 0.8)  # the code's exp(-d / 0.1) > 0.8 at 224^2: 2.5 pixel spacings
Box2 = tuple[tuple[float, float], tuple[float, float]]
UNIT: Box2 = ((-1.0, 1.0), (-1.0, 1.0))


@dataclass
class Raster:
    """The encoded problem: ``channels`` ``(5, n, n)`` in the order of :data:`CHANNELS` (the
    ``absolute`` encoding; :meth:`encoded` for either), on the
    axes ``x`` (columns, increasing) and ``y`` (rows, decreasing: row 0 is the top), with the
    pixels inside the domain (``inside``), the operator's ``coefficients``, and what the network
    does not see but refinement needs: the outward normal of each pixel's nearest boundary point
    (``normals``, ``(n * n, 2)``) and the uncompressed source (``f``, ``(n * n,)``, zero outside)."""

    x: np.ndarray
    y: np.ndarray
    channels: np.ndarray
    inside: np.ndarray
    coefficients: np.ndarray
    normals: np.ndarray
    f: np.ndarray

    def channel(self, name: str) -> np.ndarray:
        return self.channels[CHANNELS.index(name)]

    def encoded(self, amplitude: str = "scaled") -> tuple[np.ndarray, float]:
        """The network's input channels and their scale (:func:`encode`)."""
        return encode(self.channels[:4], self.f, self.inside, amplitude)

    @property
    def pixels(self) -> np.ndarray:
        """Pixel centres ``(n * n, 2)`` in row-major order (row 0 first)."""
        X, Y = np.meshgrid(self.x, self.y)
        return np.stack([X.ravel(), Y.ravel()], axis=1)


def compress(f: np.ndarray) -> np.ndarray:
    """``sign(f) log(1 + |f|)``: keeps sources of size 1e2-1e3 in the range the network saw."""
    return np.sign(f) * np.log1p(np.abs(f))


AMPLITUDES = ("scaled", "absolute")


def data_scale(boundary: np.ndarray, f: np.ndarray) -> float:
    """The largest of the Dirichlet and Neumann values (``boundary`` channels 2 and 3) and the
    source ``|f|``; 1 for a problem whose data are all zero.

    >>> data_scale(np.zeros((4, 2, 2)), np.array([0.0, -3.0, 2.0, 0.0]))
    3.0
    """
    scale = max(float(np.abs(boundary[2:4]).max(initial=0.0)), float(np.abs(f).max(initial=0.0)))
    return scale if scale > 1e-12 else 1.0


def encode(boundary: np.ndarray, f: np.ndarray, inside: np.ndarray, amplitude: str = "scaled"
           ) -> tuple[np.ndarray, float]:
    """The five input channels ``(5, n, n)`` from the four boundary channels ``(4, n, n)`` and the
    source ``f`` at the pixels (``(n * n,)``), and the scale to multiply the emitted field by:
    ``absolute``, the data as given and ``compress(f)`` (scale 1); ``scaled``, the data and the
    source divided by :func:`data_scale`, the source linear."""
    if amplitude not in AMPLITUDES:
        raise ProblemError(f"amplitude must be one of {', '.join(AMPLITUDES)}, got {amplitude!r}")
    n = boundary.shape[-1]
    scale = data_scale(boundary, f) if amplitude == "scaled" else 1.0
    out = np.zeros((5, n, n))
    out[:2] = boundary[:2]
    out[2:4] = boundary[2:4] / scale
    source = f.reshape(n, n) * inside
    out[4] = source / scale if amplitude == "scaled" else compress(source)
    return out, scale


def pixel_grid(n: int, box: Box2 = UNIT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axes ``x`` (increasing), ``y`` (decreasing) and the pixel centres ``(n * n, 2)``."""
    (x_lo, x_hi), (y_lo, y_hi) = box
    x, y = np.linspace(x_lo, x_hi, n), np.linspace(y_hi, y_lo, n)
    X, Y = np.meshgrid(x, y)
    return x, y, np.stack([X.ravel(), Y.ravel()], axis=1)


def default_width(n: int, box: Box2 = UNIT) -> float:
    """2.5 pixel spacings: the paper's line width at 224^2, kept in pixels at other sizes."""
    return WIDTH_224 * (box[0][1] - box[0][0]) / 2 * 223 / (n - 1)


def boundary_channels(pixels: np.ndarray, points: np.ndarray, dirichlet: np.ndarray, g_d: np.ndarray,
                      neumann: np.ndarray, g_n: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """The four boundary channels ``(4, P)`` at ``pixels`` from boundary ``points`` with their
    Dirichlet/Neumann flags and data (nearest point within ``width``), and the index of each
    pixel's nearest point."""
    distance, nearest = cKDTree(points).query(pixels)
    near = distance < width
    out = np.zeros((4, len(pixels)))
    for k, (flag, value) in enumerate(((dirichlet, g_d), (neumann, g_n))):
        on = near & flag[nearest]
        out[k, on] = 1.0
        out[2 + k, on] = value[nearest[on]]
    return out, nearest


def boundary_data(problem: Problem, points: np.ndarray, tags: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dirichlet flags and values and Neumann flags and ``du/dn`` data at boundary ``points``
    (with their piece ``tags``) of a problem whose conditions are Dirichlet, Neumann or cauchy;
    points no entry covers carry neither."""
    which = problem.assign_boundary(points, tags)
    kinds = np.array([problem.boundaries[i].type if i >= 0 else "" for i in which])
    bad = set(kinds) - {"dirichlet", "neumann", "cauchy", ""}
    if bad:
        raise ProblemError(f"the raster encoding takes Dirichlet, Neumann and cauchy conditions, not "
                           f"{sorted(bad)}", problem.source, "boundary")
    g_d, g_n = np.zeros(len(which)), np.zeros(len(which))
    scale = neumann_factor(problem)
    for i in set(which.tolist()) - {-1}:
        hit = which == i
        values = problem.boundaries[i].values(points[hit])
        if kinds[hit][0] == "neumann":
            g_n[hit] = values[:, 0] / scale
        else:
            g_d[hit] = values[:, 0]
            if values.shape[1] > 1:
                g_n[hit] = values[:, 1]
    return np.isin(kinds, ("dirichlet", "cauchy")), g_d, np.isin(kinds, ("neumann", "cauchy")), g_n


def rasterize(problem: Problem, n: int = 64, box: Box2 = UNIT, boundary_points: int = 3 * 2048,
              width: float | None = None, seed: int = 0) -> Raster:
    """Encode a steady 2D problem with Dirichlet, Neumann and cauchy conditions whose operator
    maps onto the linear one (see the module docstring). ``box`` is the image's extent
    ``((x_lo, x_hi), (y_lo, y_hi))``; the domain must lie inside it."""
    c = coefficients(problem)
    (x_lo, x_hi), (y_lo, y_hi) = box
    lo, hi = problem.domain.bounds
    if lo[0] < x_lo - 1e-9 or lo[1] < y_lo - 1e-9 or hi[0] > x_hi + 1e-9 or hi[1] > y_hi + 1e-9:
        raise ProblemError(f"the domain [{lo[0]:g}, {hi[0]:g}] x [{lo[1]:g}, {hi[1]:g}] does not fit the image box "
                           f"{box}", problem.source, "domain")
    x, y, pixels = pixel_grid(n, box)
    sample = problem.domain.sample_boundary(boundary_points, rng=np.random.default_rng(seed))
    dflag, g_d, nflag, g_n = boundary_data(problem, sample.points, sample.tags)
    edge, nearest = boundary_channels(pixels, sample.points, dflag, g_d, nflag, g_n,
                                      default_width(n, box) if width is None else width)
    inside = problem.domain.contains(pixels, tol=0.0).reshape(n, n)
    source = np.zeros(n * n)
    if inside.any():
        source[inside.ravel()] = np.broadcast_to(problem.pde.f(pixels[inside.ravel()]), int(inside.sum()))
    channels = encode(edge.reshape(4, n, n), source, inside, "absolute")[0]
    return Raster(x, y, channels, inside, c, sample.normals[nearest], source)
