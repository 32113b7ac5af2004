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


def _constant(problem: Problem, name: str) -> float:
    expr = problem.pde.coefs.get(name)
    if expr is None:
        return 0.0
    if not expr.is_constant:
        raise ProblemError(f"{problem.pde.type}.{name} must be a constant to map onto the linear operator, "
                           f"got {expr.source!r}", problem.source, f"pde.{name}")
    return float(expr(np.zeros((1, 2))).reshape(-1)[0])


def coefficients(problem: Problem) -> np.ndarray:
    """``(c_u, c_x, c_y, c_xx, c_yy)`` of a steady 2D scalar problem with constant coefficients.

    ``poisson``: ``-k (u_xx + u_yy)``; ``helmholtz``: ``-(u_xx + u_yy) - kappa^2 u``;
    ``convection_diffusion``: ``b . grad u - eps (u_xx + u_yy) + c u``; ``linear``: as given.
    """
    t = problem.pde.type
    if problem.dim != 2 or problem.transient or t not in ("linear", "poisson", "helmholtz", "convection_diffusion"):
        raise ProblemError(f"the linear operator covers steady 2D scalar problems (linear, poisson, helmholtz, "
                           f"convection_diffusion), not a {problem.dim}D{' transient' if problem.transient else ''} "
                           f"{t} problem", problem.source, "pde.type")
    if t == "linear":
        return np.array([_constant(problem, n) for n in COEFFICIENTS])
    if t == "poisson":
        k = _constant(problem, "k")
        return np.array([0.0, 0.0, 0.0, -k, -k])
    if t == "helmholtz":
        kappa = _constant(problem, "kappa")
        return np.array([-kappa**2, 0.0, 0.0, -1.0, -1.0])
    if problem.pde.reaction is not None:
        raise ProblemError("a nonlinear reaction does not map onto the linear operator", problem.source, "pde.r")
    eps, c = _constant(problem, "eps"), _constant(problem, "c")
    b = []
    for i, e in enumerate(problem.pde.b):
        if not e.is_constant:
            raise ProblemError(f"convection_diffusion.b must be constant to map onto the linear operator, got "
                               f"{e.source!r}", problem.source, f"pde.b.{i}")
        b.append(float(e(np.zeros((1, 2))).reshape(-1)[0]))
    return np.array([c, b[0], b[1], -eps, -eps])


def neumann_factor(problem: Problem) -> float:
    """The factor between a problem file's Neumann data and ``du/dn``: the file gives
    ``k du/dn`` (poisson), ``eps du/dn`` (convection_diffusion) or ``du/dn`` (helmholtz, linear)."""
    name = {"poisson": "k", "convection_diffusion": "eps"}.get(problem.pde.type)
    return _constant(problem, name) if name else 1.0


def kind_of(problem: Problem) -> str:
    """:func:`operator_kind` of a problem's operator."""
    return operator_kind(coefficients(problem))
