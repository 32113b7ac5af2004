"""Vectorised P1 finite elements on simplex meshes (1D, 2D, 3D): no Python loop over cells.

Element matrices come from barycentric gradients (constant per cell) and quadrature in
barycentric coordinates; global matrices are summed with one COO construction.
Convection is stabilised with SUPG (Brooks & Hughes, CMAME 32, 1982) using the streamline
element length and the optimal ``coth(Pe) - 1/Pe`` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..geometry import Mesh
from .quadrature import simplex_rule

Field = Callable[[np.ndarray], np.ndarray]  # points (n, d) -> values (n,)


@dataclass
class Geometry:
    """Per-cell quantities of a mesh reused by every form."""

    mesh: Mesh
    volume: np.ndarray  # (m,)
    grads: np.ndarray  # (m, d+1, d)
    bary: np.ndarray  # (q, d+1) quadrature points
    weights: np.ndarray  # (q,)
    xq: np.ndarray  # (m, q, d) physical quadrature points

    @classmethod
    def of(cls, mesh: Mesh, degree: int = 2) -> "Geometry":
        bary, w = simplex_rule(mesh.dim, degree)
        xq = np.einsum("qk,mkd->mqd", bary, mesh.points[mesh.cells])
        return cls(mesh, mesh.volumes(), mesh.barycentric_gradients(), bary, w, xq)

    def at_quadrature(self, fn: Field) -> np.ndarray:
        """Evaluate ``fn`` at every quadrature point: ``(m, q)``."""
        m, q, d = self.xq.shape
        return np.asarray(fn(self.xq.reshape(-1, d)), dtype=float).reshape(m, q)


def _sparse(mesh: Mesh, local: np.ndarray, n: int | None = None) -> sp.csr_matrix:
    cells = mesh.cells
    rows = np.broadcast_to(cells[:, :, None], local.shape)
    cols = np.broadcast_to(cells[:, None, :], local.shape)
    n = n or len(mesh.points)
    return sp.coo_matrix((local.ravel(), (rows.ravel(), cols.ravel())), shape=(n, n)).tocsr()


def load_vector(geo: Geometry, f: Field) -> np.ndarray:
    """``F_i = int f phi_i``."""
    fq = geo.at_quadrature(f)
    local = geo.volume[:, None] * np.einsum("mq,q,qi->mi", fq, geo.weights, geo.bary)
    return np.bincount(geo.mesh.cells.ravel(), local.ravel(), minlength=len(geo.mesh.points))


def stiffness(geo: Geometry, k: Field, axes: np.ndarray | None = None) -> sp.csr_matrix:
    """``K_ij = int k grad phi_j . D grad phi_i`` with ``D = diag(axes)`` (the identity by
    default: an anisotropic operator such as ``-(a u_xx + b u_yy)`` takes ``axes = (a, b)``)."""
    kbar = geo.at_quadrature(k) @ geo.weights
    scale = np.ones(geo.grads.shape[-1]) if axes is None else np.asarray(axes, dtype=float)
    local = (geo.volume * kbar)[:, None, None] * np.einsum("mid,d,mjd->mij", geo.grads, scale, geo.grads)
    return _sparse(geo.mesh, local)


def tensor_stiffness(geo: Geometry, K: list[list[Field]]) -> sp.csr_matrix:
    """``K_ij = int grad phi_i . K grad phi_j`` for a tensor ``K`` of fields (``d x d``, each
    averaged over a cell)."""
    kbar = np.stack([np.stack([geo.at_quadrature(k) @ geo.weights for k in row], axis=-1) for row in K], axis=-2)
    local = geo.volume[:, None, None] * np.einsum("mia,mab,mjb->mij", geo.grads, kbar, geo.grads)
    return _sparse(geo.mesh, local)


def mass(geo: Geometry, c: Field) -> sp.csr_matrix:
    """``M_ij = int c phi_j phi_i``."""
    cq = geo.at_quadrature(c)
    local = geo.volume[:, None, None] * np.einsum("mq,q,qi,qj->mij", cq, geo.weights, geo.bary, geo.bary)
    return _sparse(geo.mesh, local)


def velocity_at(geo: Geometry, b: list[Field]) -> np.ndarray:
    """Velocity at quadrature points ``(m, q, d)``."""
    return np.stack([geo.at_quadrature(bi) for bi in b], axis=-1)


def convection(geo: Geometry, bq: np.ndarray) -> sp.csr_matrix:
    """``C_ij = int (b . grad phi_j) phi_i``."""
    bg = np.einsum("mqd,mjd->mqj", bq, geo.grads)
    local = geo.volume[:, None, None] * np.einsum("q,qi,mqj->mij", geo.weights, geo.bary, bg)
    return _sparse(geo.mesh, local)


def supg_tau(geo: Geometry, bq: np.ndarray, eps: Field) -> np.ndarray:
    """SUPG parameter per cell, ``tau = h/(2|b|) (coth Pe - 1/Pe)``, ``Pe = |b| h / (2 eps)``,
    with the streamline length ``h = 2 |b| / sum_i |b . grad lambda_i|``."""
    bc = bq.mean(axis=1)
    speed = np.linalg.norm(bc, axis=1)
    proj = np.abs(np.einsum("md,mid->mi", bc, geo.grads)).sum(axis=1)
    h = np.where(proj > 0, 2 * speed / np.maximum(proj, 1e-300), 0.0)
    epsc = np.maximum(geo.at_quadrature(eps).mean(axis=1), 1e-300)
    pe = speed * h / (2 * epsc)
    xi = np.where(pe > 1e-8, 1 / np.tanh(np.maximum(pe, 1e-8)) - 1 / np.maximum(pe, 1e-8), pe / 3)
    return np.where(speed > 0, h / (2 * np.maximum(speed, 1e-300)) * xi, 0.0)


def cell_peclet(geo: Geometry, bq: np.ndarray, eps: Field) -> np.ndarray:
    """Cell Peclet numbers ``|b| h / (2 eps)`` with ``h`` the cell diameter."""
    p = geo.mesh.points[geo.mesh.cells]
    diam = np.max(np.linalg.norm(p[:, :, None, :] - p[:, None, :, :], axis=-1), axis=(1, 2))
    speed = np.linalg.norm(bq.mean(axis=1), axis=1)
    return speed * diam / (2 * np.maximum(geo.at_quadrature(eps).mean(axis=1), 1e-300))


def supg_forms(geo: Geometry, bq: np.ndarray, tau: np.ndarray, c: Field
               ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """SUPG additions to the operator, ``tau int (b.grad phi_i)(b.grad phi_j + c phi_j)``, and
    to the mass matrix, ``tau int (b.grad phi_i) phi_j`` (P1: no second derivatives in a cell)."""
    bg = np.einsum("mqd,mid->mqi", bq, geo.grads)  # (m, q, d+1)
    scale = (geo.volume * tau)[:, None, None]
    cq = geo.at_quadrature(c)
    op = scale * (np.einsum("q,mqi,mqj->mij", geo.weights, bg, bg)
                  + np.einsum("q,mqi,mq,qj->mij", geo.weights, bg, cq, geo.bary))
    ms = scale * np.einsum("q,mqi,qj->mij", geo.weights, bg, geo.bary)
    return _sparse(geo.mesh, op), _sparse(geo.mesh, ms)


def supg_load(geo: Geometry, bq: np.ndarray, tau: np.ndarray, f: Field) -> np.ndarray:
    """SUPG addition to the load, ``tau int (b.grad phi_i) f``."""
    bg = np.einsum("mqd,mid->mqi", bq, geo.grads)
    local = (geo.volume * tau)[:, None] * np.einsum("q,mqi,mq->mi", geo.weights, bg, geo.at_quadrature(f))
    return np.bincount(geo.mesh.cells.ravel(), local.ravel(), minlength=len(geo.mesh.points))


# -- boundary facets ---------------------------------------------------------------------------
def facet_quadrature(mesh: Mesh, facets: np.ndarray, degree: int = 4
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Physical points ``(k, q, d)``, barycentric points ``(q, d)`` and scaled weights ``(k, q)``
    for integrals over boundary facets."""
    bary, w = simplex_rule(mesh.dim - 1, degree)
    xq = np.einsum("qk,fkd->fqd", bary, mesh.points[facets])
    return xq, bary, mesh.facet_measures(facets)[:, None] * w[None, :]


def facet_load(mesh: Mesh, facets: np.ndarray, g: Field) -> np.ndarray:
    """``G_i = int_facets g phi_i``."""
    if len(facets) == 0:
        return np.zeros(len(mesh.points))
    xq, bary, w = facet_quadrature(mesh, facets)
    gq = np.asarray(g(xq.reshape(-1, mesh.dim)), float).reshape(w.shape)
    local = np.einsum("fq,fq,qi->fi", gq, w, bary)
    return np.bincount(facets.ravel(), local.ravel(), minlength=len(mesh.points))


def facet_mass(mesh: Mesh, facets: np.ndarray, alpha: Field) -> sp.csr_matrix:
    """``R_ij = int_facets alpha phi_j phi_i`` (Robin term)."""
    n = len(mesh.points)
    if len(facets) == 0:
        return sp.csr_matrix((n, n))
    xq, bary, w = facet_quadrature(mesh, facets)
    aq = np.asarray(alpha(xq.reshape(-1, mesh.dim)), float).reshape(w.shape)
    local = np.einsum("fq,fq,qi,qj->fij", aq, w, bary, bary)
    rows = np.broadcast_to(facets[:, :, None], local.shape)
    cols = np.broadcast_to(facets[:, None, :], local.shape)
    return sp.coo_matrix((local.ravel(), (rows.ravel(), cols.ravel())), shape=(n, n)).tocsr()


# -- errors --------------------------------------------------------------------------------------
def l2_h1_errors(mesh: Mesh, uh: np.ndarray, exact: Field, grad_exact: Callable[[np.ndarray], np.ndarray]
                 ) -> tuple[float, float]:
    """L2 and H1-seminorm errors of the P1 function ``uh`` against an exact solution, with a
    degree-4 (2D and 1D) or degree-2 (3D) rule."""
    geo = Geometry.of(mesh, degree=4 if mesh.dim < 3 else 2)
    uq = np.einsum("qk,mk->mq", geo.bary, uh[mesh.cells])
    eq = geo.at_quadrature(exact)
    l2 = np.sum(geo.volume[:, None] * geo.weights * (uq - eq) ** 2)
    gh = np.einsum("mk,mkd->md", uh[mesh.cells], geo.grads)
    m, q, d = geo.xq.shape
    ge = np.asarray(grad_exact(geo.xq.reshape(-1, d))).reshape(m, q, d)
    h1 = np.sum(geo.volume[:, None] * geo.weights * np.sum((gh[:, None, :] - ge) ** 2, axis=-1))
    return float(np.sqrt(l2)), float(np.sqrt(h1))
