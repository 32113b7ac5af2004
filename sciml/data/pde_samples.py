"""HyPINO's training samples, generated on the fly (Bischof et al., 2025, the authors'
``CombinedRandFunDataset``): half supervised by manufactured solutions, half unlabeled.

A sample is a random linear operator (:mod:`sciml.data.mms`) on ``[-1, 1]^2`` minus zero to three
holes (disks, rectangles, triangles), with boundary conditions drawn as in the code:

* elliptic operators: the outer boundary is Dirichlet, and also Neumann with probability 1/4;
  non-elliptic ones (``y`` is time): the bottom edge carries the initial data (``u``; ``u`` and
  ``du/dn`` for second order in time, and for first-order operators with probability 1/4), the
  sides are Dirichlet, the top carries nothing;
* each hole is Neumann with probability 1/2 (then also Dirichlet with probability 1/2), else
  Dirichlet.

With ``amplitude = "scaled"`` (the default) every sample is divided by its data scale (inputs,
loss data and targets alike; :func:`~sciml.problems.raster.encode`).

Supervised samples take ``u`` from a :class:`~sciml.data.mms.RandomFunction` and ``f = L u``;
they pass the rejection filter. Unsupervised samples have a constant source ``f = 10 N(1, 1)`` (the
code's ``np.random.normal(1) * 10``) and boundary data from a function compatible with the
operator (zero when ``c_u != 0``; linear in a coordinate with a second derivative, constant in
one with only a first derivative or none); they train by the residual and boundary terms only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..geometry import Box, Difference, Disk, Polygon
from ..geometry.domains import Domain
from ..problems.raster import UNIT, boundary_channels, default_width, encode, pixel_grid
from .mms import TERMS, RandomFunction, acceptable, apply, operator_kind, random_operator


@dataclass
class SampleConfig:
    """Sizes and distributions of generated samples (defaults: the paper's distributions at
    CPU-sized grids and point counts; the paper uses 224^2, 2,048 interior and 2,048 boundary
    points and ``3 x 2,048`` raster points). ``amplitude``: the input encoding
    (:func:`~sciml.problems.raster.encode`); ``scaled`` divides the sample's data, source and
    targets by its data scale, so the network only ever sees problems of unit size.
    ``reference_bank``, ``reference_fraction``: a bank file of reference-solved problems
    (:mod:`sciml.data.reference_samples`) and the share of samples drawn from it;
    ``source_freq``: the largest wave number of that bank's random smooth sources, in multiples
    of pi per axis."""

    grid: int = 64
    interior: int = 512
    boundary: int = 512
    raster_points: int = 2048
    max_terms: int = 3
    coef_bound: float = 2.0
    mms_terms: tuple[int, int] = (6, 10)
    mms_ab: float = 10.0
    max_holes: int = 3
    supervised_fraction: float = 0.5
    amplitude: str = "scaled"
    reference_bank: str | None = None
    reference_fraction: float = 0.25
    source_freq: float = 3.0


@dataclass
class Sample:
    """One generated problem: the encoding and the loss data (float32 arrays).

    ``targets`` ``(P, 5)`` holds ``u, u_x, u_y, u_xx, u_yy`` at the interior points for
    supervised samples and is None otherwise.
    """

    coefficients: np.ndarray  # (5,)
    channels: np.ndarray  # (5, n, n)
    interior: np.ndarray  # (P, 2)
    source: np.ndarray  # (P,)
    targets: np.ndarray | None
    boundary: np.ndarray  # (Q, 2)
    normals: np.ndarray  # (Q, 2)
    dirichlet: np.ndarray  # (Q,) 0/1
    g_d: np.ndarray  # (Q,)
    neumann: np.ndarray  # (Q,) 0/1
    g_n: np.ndarray  # (Q,)
    derivatives: bool = True  # targets hold the derivatives too (a reference-solved sample: u only)


def hole_specs(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """``count`` disjoint holes inside ``[-0.85, 0.85]^2`` as ``[[domain.holes]]`` tables:
    disks, rectangles and triangles."""
    holes: list[dict[str, Any]] = []
    centres: list[tuple[np.ndarray, float]] = []
    for _ in range(50 * max(count, 1)):
        if len(holes) == count:
            break
        r = float(rng.uniform(0.1, 0.3))
        c = rng.uniform(-0.85 + r, 0.85 - r, 2)
        if any(np.linalg.norm(c - c2) < r + r2 + 0.05 for c2, r2 in centres):
            continue
        centres.append((c, r))
        shape = rng.integers(3)
        if shape == 0:
            holes.append({"type": "disk", "center": [float(c[0]), float(c[1])], "radius": r})
        elif shape == 1:
            half = rng.uniform(0.5, 1.0, 2) * r / np.sqrt(2)
            holes.append({"type": "box", "lo": [float(v) for v in c - half], "hi": [float(v) for v in c + half]})
        else:
            angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
            verts = c + r * np.stack([np.cos(angles), np.sin(angles)], 1)
            holes.append({"type": "polygon", "vertices": [[float(a), float(b)] for a, b in verts]})
    return holes


def random_holes(rng: np.random.Generator, count: int) -> list[Domain]:
    """The holes of :func:`hole_specs` as domains."""
    out: list[Domain] = []
    for h in hole_specs(rng, count):
        if h["type"] == "disk":
            out.append(Disk(tuple(h["center"]), h["radius"]))
        elif h["type"] == "box":
            out.append(Box(tuple(h["lo"]), tuple(h["hi"])))
        else:
            out.append(Polygon(tuple(tuple(v) for v in h["vertices"])))
    return out


def _conditions(rng: np.random.Generator, kind: str, c: np.ndarray, tags: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet and Neumann flags per boundary point (by piece tag), as the code draws them."""
    dirichlet, neumann = np.zeros(len(tags), bool), np.zeros(len(tags), bool)
    outer = np.isin(tags, ("left", "right", "bottom", "top"))
    if kind == "elliptic":
        dirichlet[outer] = True
        neumann[outer] = rng.random() < 0.25
    else:
        sides, bottom = np.isin(tags, ("left", "right")), tags == "bottom"
        dirichlet[sides | bottom] = True
        neumann[bottom] = c[4] != 0 or (kind == "first-order" and rng.random() < 0.25)
    for hole in sorted(set(tags[~outer].tolist())):
        on = tags == hole
        if rng.random() < 0.5:
            neumann[on] = True
            dirichlet[on] = rng.random() < 0.5
        else:
            dirichlet[on] = True
    return dirichlet, neumann


def _compatible_function(rng: np.random.Generator, c: np.ndarray):
    """Boundary data of an unsupervised sample: ``a + b x + d y`` with the code's restrictions."""
    if c[0] != 0:
        coef = np.zeros(3)
    else:
        coef = rng.uniform(-1, 1, 3)
        coef[1] *= c[3] != 0  # linear in x only with u_xx in the operator
        coef[2] *= c[4] != 0

    def value(p: np.ndarray) -> np.ndarray:
        return coef[0] + coef[1] * p[:, 0] + coef[2] * p[:, 1]

    def gradient(p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(coef[1:], p.shape)

    return value, gradient


def draw_sample(rng: np.random.Generator, cfg: SampleConfig = SampleConfig(), supervised: bool | None = None,
                max_tries: int = 200) -> Sample:
    """One sample (see the module docstring); a supervised sample redraws its manufactured
    solution until it passes the rejection filter."""
    supervised = bool(rng.random() < cfg.supervised_fraction) if supervised is None else supervised
    x_axis, y_axis, pixels = pixel_grid(cfg.grid)
    c = random_operator(rng, cfg.max_terms, cfg.coef_bound)
    kind = operator_kind(c)
    holes = random_holes(rng, int(rng.integers(cfg.max_holes + 1)))
    domain: Domain = Difference(Box((-1.0, -1.0), (1.0, 1.0)), tuple(holes)) if holes else Box((-1.0, -1.0), (1.0, 1.0))
    interior = domain.sample_interior(cfg.interior, rng=rng)
    edge = domain.sample_boundary(cfg.boundary + cfg.raster_points, rng=rng)
    tags = np.asarray(edge.tags, dtype=str)
    dflag, nflag = _conditions(rng, kind, c, tags)
    inside = domain.contains(pixels, tol=0.0)
    targets = None
    if supervised:
        for _ in range(max_tries):
            u = RandomFunction.draw(rng, cfg.mms_terms, cfg.mms_ab)
            d_int, d_edge = u.derivatives(interior), u.derivatives(edge.points)
            f_int = apply(c, d_int)
            g_d = d_edge["u"]
            g_n = d_edge["ux"] * edge.normals[:, 0] + d_edge["uy"] * edge.normals[:, 1]
            if not acceptable(d_int, f_int, g_d[dflag], g_n[nflag]):
                continue
            d_pix = u.derivatives(pixels[inside])
            f_pix = apply(c, d_pix)
            if acceptable(d_pix, f_pix):
                targets = np.stack([d_int[k] for k in TERMS], 1)
                break
        else:
            raise RuntimeError(f"no acceptable manufactured solution in {max_tries} draws")
    else:
        value, gradient = _compatible_function(rng, c)
        f0 = 10 * rng.normal(1.0)
        f_int, f_pix = np.full(len(interior), f0), np.full(int(inside.sum()), f0)
        g_d = value(edge.points)
        g_n = (gradient(edge.points) * edge.normals).sum(1)
    raster = slice(cfg.boundary, None)
    edge_channels = boundary_channels(pixels, edge.points[raster], dflag[raster], g_d[raster], nflag[raster],
                                      g_n[raster], default_width(cfg.grid, UNIT))[0]
    source = np.zeros(cfg.grid * cfg.grid)
    source[inside] = f_pix
    loss = slice(0, cfg.boundary)
    return make_sample(c, edge_channels, source, inside, cfg.amplitude, interior, f_int, targets,
                       edge.points[loss], edge.normals[loss], dflag[loss], g_d[loss], nflag[loss], g_n[loss])


def make_sample(c: np.ndarray, edge_channels: np.ndarray, source: np.ndarray, inside: np.ndarray, amplitude: str,
                interior: np.ndarray, f_int: np.ndarray, targets: np.ndarray | None, boundary: np.ndarray,
                normals: np.ndarray, dflag: np.ndarray, g_d: np.ndarray, nflag: np.ndarray, g_n: np.ndarray,
                derivatives: bool = True) -> Sample:
    """A :class:`Sample` from a problem's raw data: its boundary channels ``(4, n * n)`` and
    pixel source (``(n * n,)``, zero outside ``inside``) are encoded with ``amplitude``
    (:func:`~sciml.problems.raster.encode`) and the loss data and targets divided by the same
    scale. ``derivatives``: whether ``targets`` carries the derivatives (else only ``u``)."""
    n = int(round(np.sqrt(source.size)))
    channels, scale = encode(edge_channels.reshape(4, n, n), source, inside.reshape(n, n), amplitude)
    f32 = np.float32
    return Sample(c.astype(f32), channels.astype(f32), interior.astype(f32), (f_int / scale).astype(f32),
                  None if targets is None else (targets / scale).astype(f32), boundary.astype(f32),
                  normals.astype(f32), dflag.astype(f32), (g_d * dflag / scale).astype(f32), nflag.astype(f32),
                  (g_n * nflag / scale).astype(f32), derivatives)


def collate(samples: list[Sample]) -> dict[str, torch.Tensor]:
    """Stack samples into batch tensors; ``supervised`` ``(B,)`` flags the labelled ones (their
    ``targets`` rows; zeros elsewhere), ``derivative_targets`` those whose targets include the
    derivatives."""
    out = {}
    for name in ("coefficients", "channels", "interior", "source", "boundary", "normals", "dirichlet", "g_d",
                 "neumann", "g_n"):
        out[name] = torch.from_numpy(np.stack([getattr(s, name) for s in samples]))
    p = samples[0].interior.shape[0]
    out["targets"] = torch.from_numpy(np.stack([s.targets if s.targets is not None else np.zeros((p, 5), np.float32)
                                                for s in samples]))
    out["supervised"] = torch.tensor([s.targets is not None for s in samples], dtype=torch.float32)
    out["derivative_targets"] = torch.tensor([s.targets is not None and s.derivatives for s in samples],
                                             dtype=torch.float32)
    return out
