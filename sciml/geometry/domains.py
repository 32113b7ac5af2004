"""Analytic domains: interval, box (1D/2D/3D), polygon, disk, and a domain minus holes.

Each domain gives a signed distance (negative inside), named boundary pieces (the tags usable
in ``where``), interior and boundary sampling with outward normals, regular grids masked by the
domain and a reference mesh of a given size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib.path import Path as MplPath

from ..errors import ProblemError
from .dims import MAX_DIM
from .pieces import Arc, BoxFace, EndPoint, Piece, Segment
from .sampling import split_counts, unit_points

if TYPE_CHECKING:
    from .mesh import Mesh


@dataclass(frozen=True)
class BoundarySample:
    """Points on the boundary with their outward unit normals and the name of their piece."""

    points: np.ndarray
    normals: np.ndarray
    tags: np.ndarray  # piece name per point (dtype object/str)


class Domain:
    """Common behaviour of analytic domains; subclasses give ``dim``, ``bounds``, ``sdf`` and
    ``pieces``."""

    dim: int
    output_grid = False  # physics-informed solutions are tabulated on masked grid nodes, not a mesh

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def sdf(self, points: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def pieces(self) -> list[Piece]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def tags(self) -> list[str]:
        """Names usable as a boundary ``where``."""
        return [p.name for p in self.pieces]

    def contains(self, points: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        """Whether each point lies in the closed domain."""
        return self.sdf(np.asarray(points, dtype=float)) <= tol

    def sample_interior(self, n: int, method: str = "random",
                        rng: np.random.Generator | None = None) -> np.ndarray:
        """``n`` points inside the domain (rejection from the bounding box)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        lo, hi = self.bounds
        frac = max(float(self.contains(lo + rng.random((4096, self.dim)) * (hi - lo)).mean()), 1e-3)
        m = int(np.ceil(n / frac * 1.1)) + 16
        for _ in range(20):
            pts = lo + unit_points(m, self.dim, method, rng) * (hi - lo)
            pts = pts[self.sdf(pts) < 0]
            if len(pts) >= n:
                keep = np.sort(rng.permutation(len(pts))[:n]) if method == "uniform" else slice(0, n)
                return pts[keep]
            m *= 2
        raise ProblemError("could not sample the domain's interior (is it empty?)")

    def sample_boundary(self, n: int, method: str = "random",
                        rng: np.random.Generator | None = None) -> BoundarySample:
        """``n`` boundary points spread over the pieces in proportion to their measure."""
        rng = rng if rng is not None else np.random.default_rng(0)
        pieces = self.pieces
        counts = split_counts(n, np.array([p.measure for p in pieces]))
        pts, nrm, tags = [], [], []
        for piece, k in zip(pieces, counts):
            if k == 0:
                continue
            p = piece.at(unit_points(k, piece.param_dim, method, rng))
            pts.append(p)
            nrm.append(piece.normal(p))
            tags.append(np.full(k, piece.name, dtype=object))
        return BoundarySample(np.concatenate(pts), np.concatenate(nrm), np.concatenate(tags))

    def piece_of(self, points: np.ndarray) -> np.ndarray:
        """Index of the nearest boundary piece for each point."""
        d = np.stack([p.distance(points) for p in self.pieces], axis=1)
        return np.argmin(d, axis=1)

    def normals(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals at boundary points (of the nearest piece)."""
        idx = self.piece_of(points)
        out = np.zeros_like(points, dtype=float)
        for i, piece in enumerate(self.pieces):
            sel = idx == i
            if sel.any():
                out[sel] = piece.normal(points[sel])
        return out

    def grid(self, n: int | Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """A regular grid over the bounding box and the mask of nodes inside the domain.

        Returns
        -------
        axes, mask
            One coordinate array per dimension and a boolean array of shape ``(n_1, ..., n_d)``.
        """
        lo, hi = self.bounds
        sizes = [n] * self.dim if np.isscalar(n) else list(n)
        axes = [np.linspace(lo[i], hi[i], int(sizes[i])) for i in range(self.dim)]
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        return axes, self.contains(mesh, tol=1e-9).reshape([len(a) for a in axes])

    def mesh(self, h: float) -> "Mesh":
        """A simplex mesh of size about ``h`` with boundary facets tagged by piece name."""
        from .mesher import triangulate

        return triangulate(self, h)


@dataclass(frozen=True)
class Interval(Domain):
    """The interval ``[a, b]``; boundary tags ``left`` and ``right``."""

    a: float
    b: float
    dim = 1

    def __post_init__(self) -> None:
        if not self.b > self.a:
            raise ProblemError(f"interval needs a < b, got [{self.a}, {self.b}]")

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.a]), np.array([self.b])

    def sdf(self, points: np.ndarray) -> np.ndarray:
        x = np.asarray(points)[:, 0]
        return np.maximum(self.a - x, x - self.b)

    @property
    def pieces(self) -> list[Piece]:
        return [EndPoint(self.a, -1.0, "left"), EndPoint(self.b, 1.0, "right")]


_BOX_TAGS = {1: ("left", "right"), 2: ("left", "right", "bottom", "top"),
             3: ("left", "right", "front", "back", "bottom", "top"),
             **{d: tuple(f"x{i + 1}_{side}" for i in range(d) for side in ("lo", "hi")) for d in range(4, MAX_DIM + 1)}}


@dataclass(frozen=True)
class Box(Domain):
    """An axis-aligned box ``[lo, hi]`` in 1 to 10 dimensions (meshes and the references: 1-3).

    Boundary tags: ``left/right`` (x), ``bottom/top`` (y in 2D), in 3D ``front/back`` (y)
    and ``bottom/top`` (z), above 3D ``x1_lo/x1_hi`` ... ``xd_lo/xd_hi``.
    """

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.lo) != len(self.hi) or not 1 <= len(self.lo) <= MAX_DIM:
            raise ProblemError(f"box needs matching corners of 1 to {MAX_DIM} coordinates, got {self.lo} and {self.hi}")
        if any(b <= a for a, b in zip(self.lo, self.hi)):
            raise ProblemError(f"box needs lo < hi in every dimension, got {self.lo}, {self.hi}")

    @property
    def dim(self) -> int:  # type: ignore[override]
        return len(self.lo)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.lo, float), np.array(self.hi, float)

    def sdf(self, points: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        c, half = (lo + hi) / 2, (hi - lo) / 2
        q = np.abs(np.asarray(points) - c) - half
        outside = np.linalg.norm(np.maximum(q, 0), axis=1)
        return outside + np.minimum(q.max(axis=1), 0)

    @property
    def pieces(self) -> list[Piece]:
        lo, hi = self.lo, self.hi
        names = _BOX_TAGS[self.dim]
        if self.dim == 1:
            return [EndPoint(lo[0], -1.0, names[0]), EndPoint(hi[0], 1.0, names[1])]
        if self.dim == 2:
            (x0, y0), (x1, y1) = lo, hi
            return [Segment((x0, y1), (x0, y0), "left"), Segment((x1, y0), (x1, y1), "right"),
                    Segment((x0, y0), (x1, y0), "bottom"), Segment((x1, y1), (x0, y1), "top")]
        return [BoxFace(axis, (lo, hi)[side][axis], (-1.0, 1.0)[side], tuple(lo), tuple(hi),
                        names[2 * axis + side]) for axis in range(self.dim) for side in (0, 1)]


@dataclass(frozen=True)
class Polygon(Domain):
    """A simple polygon given by its vertices (either orientation); tags ``edge0``, ``edge1``…
    (edge i runs from vertex i to vertex i+1) and ``boundary`` for all."""

    vertices: tuple[tuple[float, float], ...]
    dim = 2

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ProblemError("polygon needs at least 3 vertices [[x, y], ...]")
        area = 0.5 * np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1])
        if abs(area) < 1e-14:
            raise ProblemError("polygon has zero area")
        _check_simple(v)
        if area < 0:  # store counter-clockwise so outward normals are on the right
            object.__setattr__(self, "vertices", tuple(map(tuple, v[::-1])))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(self.vertices, float)
        return v.min(axis=0), v.max(axis=0)

    def sdf(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, float)
        d = np.min(np.stack([s.distance(p) for s in self.pieces], axis=1), axis=1)
        inside = MplPath(np.asarray(self.vertices)).contains_points(p)
        return np.where(inside, -d, d)

    @property
    def pieces(self) -> list[Piece]:
        v = self.vertices
        # a segment's right-hand normal is outward for a counter-clockwise polygon
        return [Segment(v[i], v[(i + 1) % len(v)], f"edge{i}") for i in range(len(v))]


def _check_simple(v: np.ndarray) -> None:
    """Refuse a polygon with a repeated vertex or crossing edges (its inside is ill-defined)."""
    n = len(v)
    edges = [(v[i], v[(i + 1) % n]) for i in range(n)]
    scale = float(np.ptp(v, axis=0).max())
    for i, (a, b) in enumerate(edges):
        if np.linalg.norm(b - a) <= 1e-12 * scale:
            raise ProblemError(f"polygon vertices {i} and {(i + 1) % n} coincide")
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(*edges[i], *edges[j]):
                raise ProblemError(f"polygon edges {i} and {j} cross: the vertices must trace a simple polygon")


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    """Whether the closed segments ab and cd share a point."""
    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    def on(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> bool:  # r on segment pq, given collinear
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return any(o == 0 and on(p, q, r) for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a), (o4, c, d, b)))


class Round:
    """Bounds and signed distance of a disk or ball with ``center`` and ``radius``."""

    center: tuple[float, ...]
    radius: float

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.center, float)
        return c - self.radius, c + self.radius

    def sdf(self, points: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(points) - np.asarray(self.center), axis=1) - self.radius


@dataclass(frozen=True)
class Disk(Round, Domain):
    """The disk of centre ``center`` and radius ``radius``; tag ``circle``."""

    center: tuple[float, float]
    radius: float
    dim = 2

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ProblemError(f"disk radius must be positive, got {self.radius}")

    @property
    def pieces(self) -> list[Piece]:
        return [Arc(tuple(self.center), self.radius, "circle")]


@dataclass(frozen=True)
class Difference(Domain):
    """``outer`` minus the union of ``holes`` (2D). Hole ``i``'s boundary is tagged ``hole{i}``
    (polygon holes ``hole{i}_edge{j}`` as well)."""

    outer: Domain
    holes: tuple[Domain, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.outer.dim != 2 or any(h.dim != 2 for h in self.holes):
            raise ProblemError("holes are supported for 2D domains")

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.outer.dim

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.outer.bounds

    def sdf(self, points: np.ndarray) -> np.ndarray:
        d = self.outer.sdf(points)
        for h in self.holes:
            d = np.maximum(d, -h.sdf(points))
        return d

    @property
    def pieces(self) -> list[Piece]:
        out: list[Piece] = list(self.outer.pieces)
        for i, hole in enumerate(self.holes):
            for piece in hole.pieces:
                if isinstance(piece, Arc):
                    out.append(Arc(piece.center, piece.radius, f"hole{i}", inward=True))
                elif isinstance(piece, Segment):
                    out.append(Segment(piece.a, piece.b, f"hole{i}_{piece.name}", flip=True))
        return out

    @property
    def tags(self) -> list[str]:
        return list(self.outer.tags) + [f"hole{i}" for i in range(len(self.holes))] + \
            [p.name for p in self.pieces[len(self.outer.pieces):] if isinstance(p, Segment)]
