"""Constructive solid geometry: unions, intersections and differences of boxes, balls and
cylinders (3D) or boxes and disks (2D), for the physics-informed solvers, which sample it
directly through its signed distance.

A domain is named shapes and an expression combining them: ``+`` union, ``*`` intersection,
``-`` difference, with parentheses (parsed by the expression language, nothing evaluated but
these three operations)::

    [domain]
    type = "csg"
    combine = "block - (hole + shaft)"
    [domain.shapes.block]
    type = "box"
    lo = [0, 0, 0]
    hi = [1, 1, 1]
    [domain.shapes.hole]
    type = "ball"
    center = [0.5, 0.5, 0.5]
    radius = 0.3

Boundary points are drawn on each shape's surface and kept where they lie on the combined
boundary (tagged with the shape's name); normals are the combined signed distance's gradient.
With the optional ``gmsh`` package installed, :meth:`CSG.mesh` meshes the domain with gmsh's
OpenCASCADE kernel, so the FEM references solve such problems too; without it they refuse them.

>>> cube = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
>>> dom = CSG({"cube": cube, "hole": Ball((0.5, 0.5, 0.5), 0.25)}, "cube - hole")
>>> dom.contains(np.array([[0.5, 0.5, 0.5], [0.1, 0.1, 0.1]])).tolist()
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import ProblemError
from .domains import BoundarySample, Box, Disk, Domain, Round

AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class Ball(Round, Domain):
    """The ball of ``center`` and ``radius`` (3D)."""

    center: tuple[float, float, float]
    radius: float
    dim = 3

    def __post_init__(self) -> None:
        if len(self.center) != 3 or not self.radius > 0:
            raise ProblemError(f"a ball needs a 3D center and a positive radius, got {self.center}, {self.radius}")

    def surface(self, n: int, rng: np.random.Generator) -> np.ndarray:
        v = rng.normal(size=(n, 3))
        return np.asarray(self.center) + self.radius * v / np.linalg.norm(v, axis=1, keepdims=True)

    @property
    def area(self) -> float:
        return 4 * np.pi * self.radius ** 2


@dataclass(frozen=True)
class Cylinder(Domain):
    """The solid cylinder of ``radius`` around the line through ``center`` along ``axis``
    (``x``, ``y`` or ``z``), from ``center - height/2`` to ``center + height/2`` (3D)."""

    center: tuple[float, float, float]
    radius: float
    height: float
    axis: str = "z"
    dim = 3

    def __post_init__(self) -> None:
        if len(self.center) != 3 or not (self.radius > 0 and self.height > 0) or self.axis not in AXES:
            raise ProblemError("a cylinder needs a 3D center, positive radius and height and axis x, y or z")

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c, half = np.asarray(self.center, float), np.full(3, self.radius)
        half[AXES[self.axis]] = self.height / 2
        return c - half, c + half

    def sdf(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points) - np.asarray(self.center)
        a = AXES[self.axis]
        radial = np.linalg.norm(np.delete(p, a, axis=1), axis=1) - self.radius
        along = np.abs(p[:, a]) - self.height / 2
        outside = np.linalg.norm(np.maximum(np.stack([radial, along], axis=1), 0), axis=1)
        return outside + np.minimum(np.maximum(radial, along), 0)

    def surface(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Points uniform on the lateral surface and the two caps, by area."""
        a, others = AXES[self.axis], [i for i in range(3) if i != AXES[self.axis]]
        side = 2 * np.pi * self.radius * self.height
        lateral = rng.random(n) < side / self.area
        theta = 2 * np.pi * rng.random(n)
        r = np.where(lateral, self.radius, self.radius * np.sqrt(rng.random(n)))
        h = np.where(lateral, (rng.random(n) - 0.5) * self.height, np.sign(rng.random(n) - 0.5) * self.height / 2)
        p = np.empty((n, 3))
        p[:, others[0]], p[:, others[1]], p[:, a] = r * np.cos(theta), r * np.sin(theta), h
        return p + np.asarray(self.center)

    @property
    def area(self) -> float:
        return 2 * np.pi * self.radius * (self.radius + self.height)


def _box_surface(box: Box, n: int, rng: np.random.Generator) -> np.ndarray:
    return box.sample_boundary(n, "random", rng).points


def _disk_surface(disk: Disk, n: int, rng: np.random.Generator) -> np.ndarray:
    theta = 2 * np.pi * rng.random(n)
    return np.asarray(disk.center) + disk.radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def _occ_shape(occ: Any, shape: Domain) -> int:
    """The OpenCASCADE entity of one shape."""
    if isinstance(shape, Box):
        lo, hi = shape.bounds
        if shape.dim == 2:
            return occ.addRectangle(lo[0], lo[1], 0, *(hi - lo))
        return occ.addBox(*lo, *(hi - lo))
    if isinstance(shape, Disk):
        return occ.addDisk(*shape.center, 0, shape.radius, shape.radius)
    if isinstance(shape, Ball):
        return occ.addSphere(*shape.center, shape.radius)
    a = AXES[shape.axis]
    base, direction = np.asarray(shape.center, float), np.zeros(3)
    base[a] -= shape.height / 2
    direction[a] = shape.height
    return occ.addCylinder(*base, *direction, shape.radius)


class CSG(Domain):
    """Named ``shapes`` combined by ``combine`` (``+`` union, ``*`` intersection, ``-``
    difference); boundary tags are the shape names. Physics-informed solvers sample it and
    tabulate their solutions on masked grid nodes; :meth:`mesh` needs gmsh."""

    output_grid = True

    def __init__(self, shapes: Mapping[str, Domain], combine: str):
        from ..problems.expr import Expr

        if not shapes:
            raise ProblemError("a csg domain needs at least one shape")
        dims = {s.dim for s in shapes.values()}
        if len(dims) != 1:
            raise ProblemError("the shapes of a csg domain must have one dimension")
        self.shapes, self.dim = dict(shapes), dims.pop()
        self.combine = Expr(combine, tuple(shapes))  # parsed and checked by the expression language
        bad = {op for op, _, _ in self.combine._program} - {"var", "add", "sub", "mul"}
        if bad or self.combine.used != set(shapes):
            raise ProblemError(f"combine {combine!r}: use each shape once or more with +, * and - only"
                               + (f" (unused: {', '.join(sorted(set(shapes) - self.combine.used))})"
                                  if set(shapes) - self.combine.used else ""))
        lo, hi = self.bounds
        self._tol = 1e-7 * float(np.max(hi - lo))

    def _evaluate(self, values: Mapping[str, np.ndarray], ops: Mapping[str, Any]) -> np.ndarray:
        from ..problems.expr import _execute

        return _execute(self.combine._program, ops, values, lambda c: c)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        boxes = {k: tuple(np.asarray(b, float) for b in s.bounds) for k, s in self.shapes.items()}
        ops = {"add": lambda a, b: (np.minimum(a[0], b[0]), np.maximum(a[1], b[1])),
               "mul": lambda a, b: (np.maximum(a[0], b[0]), np.minimum(a[1], b[1])),
               "sub": lambda a, b: a}
        lo, hi = self._evaluate(boxes, ops)
        if not np.all(hi > lo):
            raise ProblemError("the combined csg domain is empty")
        return lo, hi

    def sdf(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float)
        values = {k: s.sdf(points) for k, s in self.shapes.items()}
        return self._evaluate(values, {"add": np.minimum, "mul": np.maximum, "sub": lambda a, b: np.maximum(a, -b)})

    @property
    def tags(self) -> list[str]:
        return list(self.shapes)

    @property
    def pieces(self) -> list[Any]:
        raise ProblemError("a csg domain has no analytic boundary pieces (it is sampled through its signed distance)")

    def _surface(self, name: str, n: int, rng: np.random.Generator) -> np.ndarray:
        shape = self.shapes[name]
        if isinstance(shape, Box):
            return _box_surface(shape, n, rng)
        if isinstance(shape, Disk):
            return _disk_surface(shape, n, rng)
        return shape.surface(n, rng)

    def _area(self, name: str) -> float:
        shape = self.shapes[name]
        if isinstance(shape, Box):
            return float(sum(p.measure for p in shape.pieces))
        if isinstance(shape, Disk):
            return 2 * np.pi * shape.radius
        return float(shape.area)

    def normals(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals: the normalised gradient of the signed distance."""
        h = 1e-6 * float(np.max(self.bounds[1] - self.bounds[0]))
        g = np.stack([self.sdf(points + h * e) - self.sdf(points - h * e) for e in np.eye(self.dim)], axis=1)
        return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)

    def sample_boundary(self, n: int, method: str = "random",
                        rng: np.random.Generator | None = None) -> BoundarySample:
        """``n`` points on the combined boundary: drawn on every shape's surface in proportion
        to its area, kept where the combined signed distance vanishes."""
        rng = rng if rng is not None else np.random.default_rng(0)
        names = list(self.shapes)
        areas = np.array([self._area(k) for k in names])
        pts, tags = [], []
        m = 2 * n
        for _ in range(30):
            counts = rng.multinomial(m, areas / areas.sum())
            for k, c in zip(names, counts):
                p = self._surface(k, int(c), rng)
                keep = np.abs(self.sdf(p)) <= max(self._tol, 1e-9)
                pts.append(p[keep])
                tags.append(np.full(int(keep.sum()), k, dtype=object))
            if sum(len(p) for p in pts) >= n:
                break
            m *= 2
        points, names_ = np.concatenate(pts), np.concatenate(tags)
        if len(points) < n:
            raise ProblemError("could not sample the csg domain's boundary (is it empty?)")
        keep = np.sort(rng.permutation(len(points))[:n])
        return BoundarySample(points[keep], self.normals(points[keep]), names_[keep])

    def piece_of(self, points: np.ndarray) -> np.ndarray:
        """Index (in the shape order) of the shape whose surface is nearest each point."""
        d = np.stack([np.abs(s.sdf(points)) for s in self.shapes.values()], axis=1)
        return np.argmin(d, axis=1)

    def mesh(self, h: float) -> Any:
        """A simplex mesh of size about ``h`` made by gmsh's OpenCASCADE kernel (the optional
        ``gmsh`` package: ``pip install gmsh``), boundary facets tagged by the nearest shape."""
        try:
            import gmsh
        except ImportError:
            raise ProblemError("meshing a csg domain needs gmsh (pip install gmsh); without it, solve the problem "
                               "with a physics-informed solver and measure it against an [exact] solution") from None
        from .mesh import Mesh, boundary_facets

        gmsh.initialize(interruptible=False)
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            gmsh.model.add("csg")
            occ = gmsh.model.occ
            solids = {name: [(self.dim, _occ_shape(occ, shape))] for name, shape in self.shapes.items()}
            ops = {"add": lambda a, b: occ.fuse(a, b)[0], "sub": lambda a, b: occ.cut(a, b)[0],
                   "mul": lambda a, b: occ.intersect(a, b)[0]}
            self._evaluate(solids, ops)
            occ.synchronize()
            gmsh.option.setNumber("Mesh.MeshSizeMax", h)
            gmsh.option.setNumber("Mesh.MeshSizeMin", h / 4)
            gmsh.model.mesh.generate(self.dim)
            tags, coords, _ = gmsh.model.mesh.getNodes()
            kind = {2: 2, 3: 4}[self.dim]  # gmsh's element types: triangle, tetrahedron
            _, elements = gmsh.model.mesh.getElementsByType(kind)
        except Exception as exc:  # gmsh raises plain Exceptions with its own message
            raise ProblemError(f"gmsh could not mesh the csg domain: {exc}") from None
        finally:
            gmsh.finalize()
        index = np.full(int(tags.max()) + 1, -1)
        index[tags.astype(int)] = np.arange(len(tags))
        points = coords.reshape(-1, 3)[:, : self.dim]
        cells = index[elements.astype(int)].reshape(-1, self.dim + 1)
        used = np.unique(cells)  # drop nodes of no cell (construction points)
        renumber = np.full(len(points), -1)
        renumber[used] = np.arange(len(used))
        points, cells = points[used], renumber[cells]
        facets = boundary_facets(cells)
        names = list(self.shapes)
        nearest = self.piece_of(points[facets].mean(axis=1))
        return Mesh(points, cells, facets, nearest + 1, {name: i + 1 for i, name in enumerate(names)})
