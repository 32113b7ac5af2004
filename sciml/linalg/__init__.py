"""Linear solvers for grid pressure systems: CG, IC(0)-PCG, pyamg smoothed aggregation, sparse
direct, and the conjugate direction iteration of the deep conjugate direction method.

``from sciml.linalg import dcdm`` gives the deep conjugate direction solver (docs/deep-cg.md).
Every solver is called as ``x, info = solver(A, b, x0=None, *, rtol=1e-6, atol=0.0,
maxiter=None, callback=None, history=None)`` (see :mod:`sciml.linalg.krylov`).
"""

from .dcdm import dcdm  # the solver function (its module stays importable as sciml.linalg.dcdm)
from .grid import pressure_matrix, to_grid
from .krylov import cg, conjugate_directions
from .precond import amg, direct, ic0, pcg, setup

__all__ = ["pressure_matrix", "to_grid", "cg", "conjugate_directions", "pcg", "ic0", "amg", "direct", "setup",
           "dcdm"]
