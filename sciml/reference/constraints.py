"""Boundary bookkeeping for the FEM references: which facet takes which ``[[boundary]]`` entry,
Dirichlet degrees of freedom, periodic identification and the reduced linear systems."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ProblemError, SolverError
from ..geometry import Mesh
from ..problems import Problem


def facet_names(mesh: Mesh) -> np.ndarray:
    """Tag name of each boundary facet (``boundary`` where untagged)."""
    names = {v: k for k, v in mesh.tag_names.items()}
    return np.array([names.get(t, "boundary") for t in mesh.facet_tags], dtype=object)


def facet_assignment(problem: Problem, mesh: Mesh) -> np.ndarray:
    """Index of the ``[[boundary]]`` entry each boundary facet takes (first match), -1 if none."""
    centroids = mesh.points[mesh.facets].mean(axis=1)
    return problem.assign_boundary(centroids, facet_names(mesh))


def periodic_master(problem: Problem, mesh: Mesh) -> np.ndarray:
    """For each node, the node it is identified with by periodic conditions (itself if none)."""
    master = np.arange(len(mesh.points))
    for bc in problem.boundaries:
        if bc.type != "periodic":
            continue
        lo, hi = mesh.points[:, bc.axis].min(), mesh.points[:, bc.axis].max()
        tol = 1e-9 * (hi - lo)
        low = np.flatnonzero(np.abs(mesh.points[:, bc.axis] - lo) < tol)
        high = np.flatnonzero(np.abs(mesh.points[:, bc.axis] - hi) < tol)
        others = [i for i in range(mesh.dim) if i != bc.axis]
        key_lo = np.round(mesh.points[low][:, others] / tol).astype(np.int64)
        key_hi = np.round(mesh.points[high][:, others] / tol).astype(np.int64)
        index = {tuple(k): n for k, n in zip(key_lo, low)}
        try:
            pairs = np.array([index[tuple(k)] for k in key_hi], dtype=np.int64)
        except KeyError:
            raise ProblemError("periodic boundary: the mesh nodes on the two faces do not match",
                               problem.source, "boundary") from None
        master[high] = pairs
    # resolve chains (corners identified along two axes)
    for _ in range(mesh.dim):
        master = master[master]
    return master


@dataclass
class Constraints:
    """Dirichlet dofs and periodic identification for a system with ``n`` dofs.

    The reduced space keeps one dof per periodic class; ``P`` maps reduced to full dofs.
    """

    n: int
    master: np.ndarray  # (n,) dof -> representative dof
    dirichlet: np.ndarray  # full dof indices with prescribed values

    def __post_init__(self) -> None:
        reps, inverse = np.unique(self.master, return_inverse=True)
        self.P = sp.csr_matrix((np.ones(self.n), (np.arange(self.n), inverse)), shape=(self.n, len(reps)))
        self.reduced_index = inverse
        fixed = np.zeros(len(reps), dtype=bool)
        fixed[inverse[self.dirichlet]] = True
        self.fixed = np.flatnonzero(fixed)
        self.free = np.flatnonzero(~fixed)

    def reduce(self, A: sp.spmatrix) -> sp.csr_matrix:
        return (self.P.T @ A @ self.P).tocsr()

    def reduce_vector(self, b: np.ndarray) -> np.ndarray:
        return self.P.T @ b

    def fixed_values(self, values_full: np.ndarray) -> np.ndarray:
        """Prescribed values on the reduced fixed dofs from a full-length array."""
        out = np.zeros(self.P.shape[1])
        out[self.reduced_index[self.dirichlet]] = values_full[self.dirichlet]
        return out[self.fixed]

    def solve(self, A: sp.spmatrix, b: np.ndarray, values_full: np.ndarray) -> np.ndarray:
        """Solve ``A u = b`` with the constraints; returns the full solution."""
        Ar, br = self.reduce(A), self.reduce_vector(b)
        ur = np.zeros(Ar.shape[0])
        ur[self.fixed] = self.fixed_values(values_full)
        rhs = br[self.free] - Ar[self.free][:, self.fixed] @ ur[self.fixed]
        ur[self.free] = factorize(Ar[self.free][:, self.free])(rhs)
        return self.P @ ur


def factorize(A: sp.spmatrix):
    """Sparse LU factorisation; a singular matrix becomes a clear :class:`SolverError`."""
    hint = "does the problem need a Dirichlet condition?"
    try:
        lu = spla.splu(sp.csc_matrix(A))
    except RuntimeError as exc:
        raise SolverError(f"the discrete system is singular ({exc}); {hint}") from None
    pivots = np.abs(lu.U.diagonal())
    if pivots.size and pivots.min() <= 1e-12 * pivots.max():
        raise SolverError(f"the discrete system is singular (pivot ratio {pivots.min() / pivots.max():.1e}); "
                          f"{hint}")
    return lu.solve
