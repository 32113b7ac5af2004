"""P1 FEM reference for 2D linear elasticity (plane strain or plane stress).

Degrees of freedom are interleaved ``[ux_0, uy_0, ux_1, ...]``; the element stiffness is
``|T| B^T D B`` with the usual strain-displacement matrix ``B`` and Voigt elasticity ``D``.
Dirichlet conditions may fix one or both components; Neumann data is the traction ``sigma n``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import ProblemError
from ..geometry import Mesh
from ..problems import Problem
from . import fem
from .constraints import facet_assignment
from .system import LinearSystem


def solve_elasticity(problem: Problem, mesh: Mesh) -> np.ndarray:
    """Displacements ``(n_nodes, 2)``."""
    return elasticity_system(problem, mesh).solve()


def elasticity_system(problem: Problem, mesh: Mesh) -> LinearSystem:
    """The assembled system (interleaved dofs, two per node)."""
    if any(bc.type in ("periodic", "robin") for bc in problem.boundaries):
        raise ProblemError("the elasticity reference supports dirichlet and neumann (traction) "
                           "boundaries", problem.source, "boundary")
    geo = fem.Geometry.of(mesh)
    n = len(mesh.points)
    lam, mu = problem.pde.lame()
    lam_c = geo.at_quadrature(lambda p: lam(p)) @ geo.weights
    mu_c = geo.at_quadrature(lambda p: mu(p)) @ geo.weights
    g = geo.grads  # (m, 3, 2)
    m = len(mesh.cells)
    B = np.zeros((m, 3, 6))
    B[:, 0, 0::2] = g[:, :, 0]
    B[:, 1, 1::2] = g[:, :, 1]
    B[:, 2, 0::2] = g[:, :, 1]
    B[:, 2, 1::2] = g[:, :, 0]
    D = np.zeros((m, 3, 3))
    D[:, 0, 0] = D[:, 1, 1] = lam_c + 2 * mu_c
    D[:, 0, 1] = D[:, 1, 0] = lam_c
    D[:, 2, 2] = mu_c
    local = geo.volume[:, None, None] * np.einsum("mai,mab,mbj->mij", B, D, B)
    dofs = np.stack([2 * mesh.cells, 2 * mesh.cells + 1], axis=2).reshape(m, 6)
    rows = np.broadcast_to(dofs[:, :, None], local.shape)
    cols = np.broadcast_to(dofs[:, None, :], local.shape)
    K = sp.coo_matrix((local.ravel(), (rows.ravel(), cols.ravel())), shape=(2 * n, 2 * n)).tocsr()

    F = np.zeros(2 * n)
    for c in range(2):
        F[c::2] += fem.load_vector(geo, lambda p, c=c: problem.pde.f[c](p))
    assignment = facet_assignment(problem, mesh)
    values = np.zeros(2 * n)
    fixed: list[np.ndarray] = []
    for i, bc in enumerate(problem.boundaries):
        facets = mesh.facets[assignment == i]
        if bc.type == "neumann":
            for c in range(2):
                F[c::2] += fem.facet_load(mesh, facets, lambda p, c=c: bc.value[c](p))
        elif len(facets):
            nodes = np.unique(facets)
            for c in bc.components:
                dof = 2 * nodes + c
                new = ~np.isin(dof, np.concatenate(fixed)) if fixed else np.ones(len(dof), bool)
                values[dof[new]] = bc.value[c](mesh.points[nodes[new]])
                fixed.append(dof[new])
    dirichlet = np.unique(np.concatenate(fixed)) if fixed else np.zeros(0, dtype=np.int64)
    return LinearSystem(K, F, dirichlet, values, components=2)
