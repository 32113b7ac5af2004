"""The assembled Galerkin system ``K u = F`` of a steady linear problem on a P1 mesh, with its
Dirichlet dofs: what the FE references solve and what graph Galerkin networks take as their
residual."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ProblemError
from ..geometry import Mesh
from ..problems import Problem
from .constraints import Constraints


@dataclass
class LinearSystem:
    """``K u = F`` with prescribed values on the ``fixed`` dofs.

    Attributes
    ----------
    K, F
        Stiffness matrix (with Robin terms) and load vector (source, Neumann/traction and Robin
        data), over all dofs.
    fixed
        Dof indices with Dirichlet values.
    values
        Full-length vector holding the Dirichlet values at ``fixed`` (zero elsewhere).
    components
        Dofs per node, interleaved ``[u0_x, u0_y, u1_x, ...]`` when more than one.
    """

    K: sp.csr_matrix
    F: np.ndarray
    fixed: np.ndarray
    values: np.ndarray
    components: int = 1

    @property
    def n(self) -> int:
        return self.K.shape[0]

    @property
    def free(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        mask[self.fixed] = False
        return np.flatnonzero(mask)

    def solve(self) -> np.ndarray:
        """The FE solution, ``(n_nodes, components)``."""
        u = Constraints(self.n, np.arange(self.n), self.fixed).solve(self.K, self.F, self.values)
        return u.reshape(-1, self.components)

    def residual(self, u: np.ndarray) -> np.ndarray:
        """``(K u - F)`` on the free dofs for nodal values ``u`` ``(n_nodes, components)``."""
        return (self.K @ np.asarray(u).reshape(-1) - self.F)[self.free]


def assemble(problem: Problem, mesh: Mesh) -> LinearSystem:
    """The P1 system of a steady problem without periodic boundaries, as its PDE type assembles
    it (:meth:`sciml.pdes.base.PDEType.linear_system`: the scalar FEM of its scalar form, or
    its own, as elasticity's)."""
    if problem.transient:
        raise ProblemError("only steady problems assemble into one linear system", problem.source, "time")
    if any(bc.type == "periodic" for bc in problem.boundaries):
        raise ProblemError("periodic boundaries are not supported here", problem.source, "boundary")
    return problem.pde.spec.linear_system(problem, mesh)


def scalar_system(problem: Problem, mesh: Mesh) -> LinearSystem:
    """The P1 system of a steady scalar problem (its PDE type's scalar form)."""
    from .scalar import ScalarFEM

    fem = ScalarFEM(problem, mesh)
    K, _ = fem.operator(None)
    return LinearSystem(K, fem.rhs(None), fem.dirichlet, fem.dirichlet_values(None))
