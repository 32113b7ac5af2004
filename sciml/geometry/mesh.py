"""Simplex meshes (intervals, triangles, tetrahedra) with tagged boundary facets.

Read and written with meshio (.msh, .vtu, .xdmf). In gmsh files, physical groups of dimension
``d - 1`` become boundary tags usable as ``where = "tagname"``.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
from scipy.spatial import cKDTree

from ..errors import ProblemError
from .domains import BoundarySample, Domain
from .sampling import unit_points

CELL_TYPES = {1: "line", 2: "triangle", 3: "tetra"}
FACET_TYPES = {1: "vertex", 2: "line", 3: "triangle"}


@dataclass
class Mesh:
    """A simplex mesh.

    Attributes
    ----------
    points
        Node coordinates ``(n, d)``.
    cells
        Node indices of each simplex ``(m, d + 1)``.
    facets
        Node indices of each boundary facet ``(k, d)``.
    facet_tags
        Integer tag of each boundary facet ``(k,)``; ``tag_names`` maps names to these.
    """

    points: np.ndarray
    cells: np.ndarray
    facets: np.ndarray = field(default=None)  # type: ignore[assignment]
    facet_tags: np.ndarray = field(default=None)  # type: ignore[assignment]
    tag_names: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=float)
        self.cells = np.ascontiguousarray(self.cells, dtype=np.int64)
        if self.cells.ndim != 2 or self.cells.shape[1] != self.dim + 1:
            raise ProblemError(f"a {self.dim}D mesh needs simplices of {self.dim + 1} nodes")
        boundary = boundary_facets(self.cells)
        if self.facets is None:
            self.facets, self.facet_tags = boundary, np.zeros(len(boundary), dtype=np.int64)
        else:
            self.facets = np.asarray(self.facets, dtype=np.int64)
            self.facet_tags = np.asarray(self.facet_tags, dtype=np.int64)
            self._complete_facets(boundary)
        self._fix_orientation()

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def _complete_facets(self, boundary: np.ndarray) -> None:
        """Keep tagged boundary facets, add untagged boundary facets with tag 0."""
        known = {tuple(sorted(f)): i for i, f in enumerate(self.facets)}
        keep = [known[tuple(sorted(f))] for f in boundary if tuple(sorted(f)) in known]
        missing = [f for f in boundary if tuple(sorted(f)) not in known]
        facets = [self.facets[keep]] + ([np.asarray(missing)] if missing else [])
        tags = [self.facet_tags[keep]] + ([np.zeros(len(missing), dtype=np.int64)] if missing else [])
        self.facets, self.facet_tags = np.concatenate(facets), np.concatenate(tags)

    def _fix_orientation(self) -> None:
        vol = self.signed_volumes()
        if np.any(np.abs(vol) < 1e-300):
            raise ProblemError("mesh has degenerate (zero-volume) cells")
        neg = vol < 0
        if neg.any():
            self.cells[neg, :2] = self.cells[neg, 1::-1]

    # -- geometry ---------------------------------------------------------------------------
    def signed_volumes(self) -> np.ndarray:
        """Signed simplex volumes ``(m,)``."""
        p = self.points[self.cells]
        jac = p[:, 1:, :] - p[:, :1, :]
        return np.linalg.det(jac) / np.prod(np.arange(1, self.dim + 1))

    def volumes(self) -> np.ndarray:
        return np.abs(self.signed_volumes())

    def barycentric_gradients(self) -> np.ndarray:
        """Gradients of the barycentric coordinates, constant per cell: ``(m, d + 1, d)``."""
        p = self.points[self.cells]
        jac = np.transpose(p[:, 1:, :] - p[:, :1, :], (0, 2, 1))  # (m, d, d), columns = edges
        inv = np.linalg.inv(jac)  # rows = gradients of lambda_1..lambda_d
        return np.concatenate([-inv.sum(axis=1, keepdims=True), inv], axis=1)

    def facet_measures(self, facets: np.ndarray | None = None) -> np.ndarray:
        f = self.facets if facets is None else facets
        p = self.points[f]
        if self.dim == 1:
            return np.ones(len(f))
        e = p[:, 1:, :] - p[:, :1, :]
        gram = np.einsum("kij,klj->kil", e, e)
        return np.sqrt(np.abs(np.linalg.det(gram))) / np.prod(np.arange(1, self.dim))

    def facet_normals(self, facets: np.ndarray | None = None) -> np.ndarray:
        """Outward unit normals of boundary facets ``(k, d)``."""
        f = self.facets if facets is None else facets
        p = self.points[f]
        if self.dim == 1:
            n = np.ones((len(f), 1))
        elif self.dim == 2:
            t = p[:, 1] - p[:, 0]
            n = np.stack([t[:, 1], -t[:, 0]], axis=1)
        else:
            n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        # orient away from the owning cell's centroid
        owner = self._facet_owner_centroids(f)
        flip = np.einsum("kd,kd->k", n, p.mean(axis=1) - owner) < 0
        n[flip] *= -1
        return n

    def _facet_owner_centroids(self, facets: np.ndarray) -> np.ndarray:
        local = _facet_table(self.cells)
        index = {key: c for key, c in zip(map(tuple, np.sort(local[0], axis=1)), local[1])}
        cells = np.array([index[tuple(sorted(f))] for f in facets], dtype=np.int64)
        return self.points[self.cells[cells]].mean(axis=1)

    def tag_facets(self, name: str) -> np.ndarray:
        """Boolean mask of boundary facets carrying tag ``name`` (``boundary`` = all)."""
        if name == "boundary":
            return np.ones(len(self.facets), dtype=bool)
        if name not in self.tag_names:
            raise ProblemError(f"mesh has no boundary tag {name!r} "
                               f"(tags: {', '.join(sorted(self.tag_names)) or 'none'})")
        return self.facet_tags == self.tag_names[name]

    def locate(self, points: np.ndarray, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """Cell index and barycentric coordinates of each point.

        Points outside the mesh get the nearest candidate cell with its barycentric coordinates
        clipped to the simplex (constant extrapolation from the boundary).
        """
        pts = np.asarray(points, dtype=float)
        centroids = self.points[self.cells].mean(axis=1)
        k = min(k, len(self.cells))
        _, cand = cKDTree(centroids).query(pts, k=k)
        cand = cand.reshape(len(pts), k)
        lam = self._barycentric(pts[:, None, :], cand)  # (n, k, d+1)
        score = lam.min(axis=2)
        best = np.argmax(score, axis=1)
        cells = cand[np.arange(len(pts)), best]
        bary = lam[np.arange(len(pts)), best]
        outside = score[np.arange(len(pts)), best] < -1e-10
        if outside.any():
            b = np.clip(bary[outside], 0, None)
            bary[outside] = b / b.sum(axis=1, keepdims=True)
        return cells, bary

    def _barycentric(self, pts: np.ndarray, cells: np.ndarray) -> np.ndarray:
        grads = self._grads_cache()[cells]  # (..., d+1, d)
        x0 = self.points[self.cells[cells, 0]]  # (..., d)
        lam_rest = np.einsum("...id,...d->...i", grads[..., 1:, :], pts - x0)
        return np.concatenate([1 - lam_rest.sum(axis=-1, keepdims=True), lam_rest], axis=-1)

    def _grads_cache(self) -> np.ndarray:
        if getattr(self, "_grads", None) is None:
            self._grads = self.barycentric_gradients()
        return self._grads

    def interpolate(self, values: np.ndarray, points: np.ndarray) -> np.ndarray:
        """P1 interpolation of nodal ``values`` ``(n_nodes, ...)`` at ``points``."""
        cells, bary = self.locate(points)
        return np.einsum("pk,pk...->p...", bary, values[self.cells[cells]])

    # -- I/O ----------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike) -> "Mesh":
        """Read a mesh with meshio; the highest-dimensional simplices become the cells."""
        import meshio

        path = Path(path)
        if not path.is_file():
            raise ProblemError(f"mesh file not found: {path}")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                m = meshio.read(path)  # meshio prints, and calls sys.exit on a file it cannot place
        except (Exception, SystemExit) as exc:  # meshio raises many types for unreadable files
            why = str(exc) if isinstance(exc, Exception) and str(exc) else "not a mesh format meshio reads"
            raise ProblemError(f"cannot read mesh {path}: {why}") from None
        types = {b.type for b in m.cells}
        dim = 3 if "tetra" in types else 2 if "triangle" in types else 1 if "line" in types else 0
        if dim == 0:
            raise ProblemError(f"mesh {path} has no line, triangle or tetra cells")
        gdim = dim if dim > 1 else 1
        points = m.points[:, :gdim]
        if dim == 2 and m.points.shape[1] == 3 and np.ptp(m.points[:, 2]) > 1e-12:
            raise ProblemError(f"mesh {path}: triangles must lie in the z = 0 plane")
        cells = np.concatenate([b.data for b in m.cells if b.type == CELL_TYPES[dim]])
        tag_names = {name: int(v[0]) for name, v in m.field_data.items()
                     if len(v) > 1 and int(v[1]) == dim - 1}
        facets, facet_tags = [], []
        phys = m.cell_data.get("gmsh:physical")
        for i, block in enumerate(m.cells):
            if block.type == FACET_TYPES[dim] and phys is not None:
                facets.append(block.data)
                facet_tags.append(np.asarray(phys[i]))
        used = np.unique(cells)
        if len(used) < len(points):  # drop nodes not in any cell (e.g. gmsh geometry points)
            remap = -np.ones(len(points), dtype=np.int64)
            remap[used] = np.arange(len(used))
            points, cells = points[used], remap[cells]
            facets = [remap[f] for f in facets]
            keep = [np.all(f >= 0, axis=1) for f in facets]
            facets = [f[k] for f, k in zip(facets, keep)]
            facet_tags = [t[k] for t, k in zip(facet_tags, keep)]
        if facets:
            return cls(points, cells, np.concatenate(facets), np.concatenate(facet_tags), tag_names)
        return cls(points, cells, tag_names=tag_names)

    def write(self, path: str | os.PathLike, point_data: dict[str, np.ndarray] | None = None) -> None:
        """Write with meshio (format from the suffix; .msh as gmsh 2.2 with physical tags)."""
        import meshio

        path = Path(path)
        pts = np.pad(self.points, ((0, 0), (0, 3 - self.dim))) if self.dim < 3 else self.points
        cells = [(CELL_TYPES[self.dim], self.cells)]
        cell_data: dict[str, list[np.ndarray]] = {}
        field_data = {}
        if path.suffix == ".msh":
            cells.append((FACET_TYPES[self.dim], self.facets))
            phys = [np.full(len(self.cells), 0), self.facet_tags]
            cell_data = {"gmsh:physical": phys, "gmsh:geometrical": [p.copy() for p in phys]}
            field_data = {n: np.array([t, self.dim - 1]) for n, t in self.tag_names.items()}
        mesh = meshio.Mesh(pts, cells, point_data=point_data or {}, cell_data=cell_data,
                           field_data=field_data)
        formats = {".msh": "gmsh22", ".vtu": "vtu"}
        if path.suffix not in formats:
            raise ProblemError(f"cannot write meshes as {path.suffix!r} (use .msh or .vtu)")
        tmp = path.with_name(path.name + ".tmp")
        meshio.write(tmp, mesh, file_format=formats[path.suffix],
                     **({"binary": False} if path.suffix == ".msh" else {}))
        os.replace(tmp, path)


def _facet_table(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All cell facets ``(m * (d+1), d)`` and the cell each comes from."""
    d1 = cells.shape[1]
    faces = np.concatenate([np.delete(cells, i, axis=1) for i in range(d1)])
    owner = np.tile(np.arange(len(cells)), d1)
    return faces, owner


def boundary_facets(cells: np.ndarray) -> np.ndarray:
    """Facets that belong to exactly one cell."""
    faces, _ = _facet_table(cells)
    key = np.sort(faces, axis=1)
    _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    return faces[idx[counts == 1]]


class MeshDomain(Domain):
    """A domain given by a mesh file; boundary tags are the mesh's physical groups."""

    def __init__(self, mesh: Mesh, source: str | None = None):
        self.mesh_data = mesh
        self.source = source
        self.dim = mesh.dim

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mesh_data.points.min(axis=0), self.mesh_data.points.max(axis=0)

    @property
    def tags(self) -> list[str]:
        return ["boundary", *sorted(self.mesh_data.tag_names)]

    def contains(self, points: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        cells, _ = self.mesh_data.locate(points)
        lam = self.mesh_data._barycentric(np.asarray(points, float), cells)
        return lam.min(axis=1) >= -max(tol, 1e-10)

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Approximate signed distance: distance to the nearest boundary facet centroid or node."""
        m = self.mesh_data
        ref = np.concatenate([m.points[np.unique(m.facets)], m.points[m.facets].mean(axis=1)])
        d, _ = cKDTree(ref).query(points)
        return np.where(self.contains(points), -d, d)

    def sample_interior(self, n: int, method: str = "random",
                        rng: np.random.Generator | None = None) -> np.ndarray:
        """Points uniform over the mesh: the first coordinate of a ``dim + 1``-dimensional unit
        sample picks the cell by the cumulative volume, the others place the point in it (so
        every cell can be hit however small ``n`` is, and Sobol/LHS stay stratified)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        m = self.mesh_data
        u = unit_points(n, m.dim + 1, method, rng)
        cells = _pick(m.volumes(), u[:, 0])
        return _simplex_points(m.points[m.cells[cells]], u[:, 1:])

    def sample_boundary(self, n: int, method: str = "random",
                        rng: np.random.Generator | None = None) -> BoundarySample:
        rng = rng if rng is not None else np.random.default_rng(0)
        m = self.mesh_data
        u = unit_points(n, m.dim, method, rng)
        f = _pick(m.facet_measures(), u[:, 0])
        if m.dim == 1:
            pts = m.points[m.facets[f, 0]]
        else:
            pts = _simplex_points(m.points[m.facets[f]], u[:, 1:])
        names = {v: k for k, v in m.tag_names.items()}
        tags = np.array([names.get(t, "boundary") for t in m.facet_tags[f]], dtype=object)
        return BoundarySample(pts, m.facet_normals()[f], tags)

    def normals(self, points: np.ndarray) -> np.ndarray:
        m = self.mesh_data
        _, idx = cKDTree(m.points[m.facets].mean(axis=1)).query(points)
        return m.facet_normals()[idx]

    def mesh(self, h: float) -> Mesh:
        return self.mesh_data


def _pick(measures: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to ``measures`` by inverse CDF at ``u``."""
    cdf = np.cumsum(measures)
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(measures) - 1)


def _simplex_points(vertices: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Map unit-cube samples ``u (n, k)`` into simplices ``vertices (n, k+1, d)`` uniformly
    (sorted-coordinates map, which is area-preserving)."""
    s = np.sort(u, axis=1)
    bary = np.diff(np.concatenate([np.zeros((len(u), 1)), s, np.ones((len(u), 1))], axis=1), axis=1)
    return np.einsum("nk,nkd->nd", bary, vertices)


def read_domain(path: str | os.PathLike) -> MeshDomain:
    """Read a mesh file as a domain."""
    return MeshDomain(Mesh.read(path), source=str(path))
