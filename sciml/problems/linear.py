"""The 2D linear second-order operator with constant coefficients (HyPINO's problem class,
Bischof et al., 2025):

    L u = c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f.

The ``linear`` PDE type states it directly; steady 2D ``poisson`` (constant ``k``),
``helmholtz`` (constant ``kappa``) and ``convection_diffusion`` (constant coefficients) problems
map onto it with :func:`coefficients`. The principal part decides the kind
(:func:`operator_kind`); for every kind but ``elliptic`` the coordinate ``y`` is time (a
space-time problem: the initial line is the bottom edge, no condition on the top edge).
"""

from __future__ import annotations

import numpy as np

from ..errors import ProblemError
from .problem import Problem

TERMS = ("u", "ux", "uy", "uxx", "uyy")  # HyPINO's PDE_TERMS order (by length, then name)
COEFFICIENTS = ("c_u", "c_x", "c_y", "c_xx", "c_yy")


def operator_kind(c: np.ndarray) -> str:
    """``elliptic`` (``c_xx c_yy > 0``), ``hyperbolic`` (``< 0``), ``parabolic`` (exactly one of
    them zero) or ``first-order`` (both zero): the sign of ``B^2 - 4 A C`` with ``B = 0``."""
    a, cc = float(c[3]), float(c[4])
    if a * cc > 0:
        return "elliptic"
    if a * cc < 0:
        return "hyperbolic"
    return "parabolic" if (a != 0) != (cc != 0) else "first-order"


def apply(c, derivs):
    """``L u = sum_k c_k D_k u`` from the derivatives ``derivs[name]`` (numpy arrays or torch
    tensors, any shape; ``c`` a sequence or a tensor broadcasting against them)."""
    return sum(c[k] * derivs[name] for k, name in enumerate(TERMS))


def constant_coefficient(problem: Problem, name: str) -> float:
    expr = problem.pde.coefs.get(name)
    if expr is None:
        return 0.0
    if not expr.is_constant:
        raise ProblemError(f"{problem.pde.type}.{name} must be a constant to map onto the linear operator, "
                           f"got {expr.source!r}", problem.source, f"pde.{name}")
    return float(expr(np.zeros((1, 2))).reshape(-1)[0])


def coefficients(problem: Problem) -> np.ndarray:
    """``(c_u, c_x, c_y, c_xx, c_yy)`` of a steady 2D scalar problem with constant coefficients
    (its PDE type's :meth:`~sciml.pdes.base.PDEType.operator_coefficients`): ``poisson``:
    ``-k (u_xx + u_yy)``; ``helmholtz``: ``-(u_xx + u_yy) - kappa^2 u``;
    ``convection_diffusion``: ``b . grad u - eps (u_xx + u_yy) + c u``; ``linear``: as given.
    """
    t = problem.pde.type
    c = problem.pde.spec.operator_coefficients(problem) if problem.dim == 2 and not problem.transient else None
    if c is None:
        raise ProblemError(f"the linear operator covers steady 2D scalar problems with a constant operator "
                           f"(linear, poisson, helmholtz, convection_diffusion), not a {problem.dim}D"
                           f"{' transient' if problem.transient else ''} {t} problem", problem.source, "pde.type")
    return c


def neumann_factor(problem: Problem) -> float:
    """The factor between a problem file's Neumann data and ``du/dn``: the coefficient of the
    PDE type's flux (``k du/dn`` for poisson, ``eps du/dn`` for convection_diffusion; 1 for
    helmholtz and linear)."""
    name = problem.pde.spec.flux_coef
    return constant_coefficient(problem, name) if name else 1.0


def kind_of(problem: Problem) -> str:
    """:func:`operator_kind` of a problem's operator."""
    return operator_kind(coefficients(problem))
