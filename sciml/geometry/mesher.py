"""Reference meshes generated from analytic domains.

Intervals and boxes get structured meshes (boxes: two triangles per square, six tetrahedra per
cube). Other 2D domains use a compact DistMesh-style relaxation (Persson & Strang, "A simple
mesh generator in MATLAB", SIAM Review 46, 2004): boundary nodes at spacing ``h`` stay fixed,
interior nodes start on a triangular lattice and move under repulsive bar forces, and Delaunay
triangles whose centroid lies outside are dropped. Boundary facets are tagged with the name of
the nearest boundary piece.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from ..errors import ProblemError
from .domains import Arc, Box, Domain, Interval
from .mesh import Mesh, boundary_facets


def triangulate(domain: Domain, h: float) -> Mesh:
    """Mesh ``domain`` with cells of size about ``h``."""
    if not h > 0:
        raise ProblemError(f"mesh size h must be positive, got {h}")
    if isinstance(domain, (Interval, Box)):
        lo, hi = domain.bounds
        n = np.maximum(np.ceil((hi - lo) / h).astype(int), 1)
        points, cells = structured_simplices(lo, hi, n)
    elif domain.dim == 2:
        points, cells = _relaxed_triangulation(domain, h)
    else:
        raise ProblemError("3D reference meshes are generated for boxes only; give a mesh file")
    return tag_boundary(domain, points, cells)


def tag_boundary(domain: Domain, points: np.ndarray, cells: np.ndarray) -> Mesh:
    """Build a mesh whose boundary facets carry the name of the nearest domain piece."""
    facets = boundary_facets(cells)
    names = [p.name for p in domain.pieces]
    tag_ids = {name: i + 1 for i, name in enumerate(dict.fromkeys(names))}
    nearest = domain.piece_of(points[facets].mean(axis=1))
    tags = np.array([tag_ids[names[i]] for i in nearest], dtype=np.int64)
    return Mesh(points, cells, facets, tags, tag_ids)


def structured_simplices(lo: np.ndarray, hi: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and simplices of a structured mesh of the box ``[lo, hi]`` with ``n`` divisions
    per axis (1D: segments; 2D: 2 triangles per square; 3D: 6 tetrahedra per cube)."""
    dim = len(lo)
    axes = [np.linspace(lo[i], hi[i], n[i] + 1) for i in range(dim)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    shape = tuple(int(k) + 1 for k in n)
    index = np.arange(points.shape[0]).reshape(shape)
    corner = index[tuple(slice(0, -1) for _ in range(dim))].reshape(-1)
    strides = np.array(index.strides) // index.itemsize
    if dim == 1:
        local = [[0, 1]]
    elif dim == 2:
        local = [[0, 1, 3], [0, 3, 2]]  # corners numbered by bits (x, y)
    else:
        # Kuhn subdivision: one tetrahedron per ordering of the three axes
        local = [[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]]
    offset = np.array([sum(((b >> (dim - 1 - a)) & 1) * strides[a] for a in range(dim))
                       for b in range(2**dim)])
    cells = np.concatenate([corner[:, None] + offset[np.array(t)] for t in local])
    return points, cells


def _relaxed_triangulation(domain: Domain, h: float, iterations: int = 80) -> tuple[np.ndarray, np.ndarray]:
    fixed = _boundary_nodes(domain, h)
    lo, hi = domain.bounds
    ys = np.arange(lo[1], hi[1] + h, h * np.sqrt(3) / 2)
    xs = np.arange(lo[0], hi[0] + h, h)
    lattice = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1)
    lattice[1::2, :, 0] += h / 2
    lattice = lattice.reshape(-1, 2)
    lattice = lattice[domain.sdf(lattice) < -0.5 * h]
    p = np.concatenate([fixed, lattice])
    nfix = len(fixed)
    last = np.full_like(p, np.inf)
    for _ in range(iterations):
        if np.max(np.linalg.norm(p - last, axis=1)) > 0.1 * h:
            last = p.copy()
            tri = _inside_triangles(domain, p, h)
            edges = np.unique(np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]),
                                      axis=1), axis=0)
        vec = p[edges[:, 0]] - p[edges[:, 1]]
        length = np.linalg.norm(vec, axis=1)
        target = 1.2 * np.sqrt(np.mean(length**2))
        force = np.maximum(target - length, 0) / length
        fv = force[:, None] * vec
        total = np.zeros_like(p)
        np.add.at(total, edges[:, 0], fv)
        np.add.at(total, edges[:, 1], -fv)
        total[:nfix] = 0
        move = 0.2 * total
        p = p + move
        p[nfix:] = _project_inside(domain, p[nfix:], h)
        if np.max(np.linalg.norm(move[nfix:], axis=1), initial=0) < 1e-3 * h:
            break
    return p, _inside_triangles(domain, p, h)


def _boundary_nodes(domain: Domain, h: float) -> np.ndarray:
    nodes = []
    for piece in domain.pieces:
        n = max(int(np.ceil(piece.measure / h)), 8 if isinstance(piece, Arc) else 1)
        nodes.append(piece.at(np.arange(n) / n))
        if not isinstance(piece, Arc):
            nodes.append(piece.at(np.array([1.0])))
    pts = np.concatenate(nodes)
    key = np.round(pts / (1e-9 * h)).astype(np.int64)
    _, idx = np.unique(key, axis=0, return_index=True)
    return pts[np.sort(idx)]


def _inside_triangles(domain: Domain, p: np.ndarray, h: float) -> np.ndarray:
    tri = Delaunay(p).simplices
    centroid = p[tri].mean(axis=1)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    return tri[(domain.sdf(centroid) < -1e-6 * h) & (area > 1e-8 * h * h)]


def _project_inside(domain: Domain, p: np.ndarray, h: float) -> np.ndarray:
    d = domain.sdf(p)
    out = d > 0
    if out.any():
        q = p[out]
        eps = 1e-6 * h
        grad = np.stack([(domain.sdf(q + eps * e) - d[out]) / eps for e in np.eye(2)], axis=1)
        p = p.copy()
        p[out] = q - d[out, None] * grad
    return p
