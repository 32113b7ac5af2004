"""Method-of-lines reference for non-elliptic ``linear`` problems, where ``y`` is time.

``c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f`` on a box ``[x0, x1] x [y0, y1]`` is
marched from the bottom edge (the initial line) to the top: first order in ``y`` when
``c_yy = 0`` (``u_y = (f - S u) / c_y``: heat, advection), second order when ``c_xx c_yy < 0``
(``u_yy = (f - S u - c_y u_y) / c_yy``: the wave equation), with ``S u = c_u u + c_x u_x + c_xx u_xx``
by second-order finite differences in ``x`` (central; upwind when ``c_xx = 0``) and
``scipy.integrate.solve_ivp`` in ``y``. The bottom edge takes a Dirichlet condition (first order)
or a cauchy one (``u`` and ``du/dn = -u_y``); the sides take Dirichlet or Neumann conditions
where ``S`` has a second derivative and a Dirichlet condition on the inflow side otherwise; the
top edge takes none.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..errors import ProblemError, SolverError
from ..geometry import Box
from ..problems import Problem
from ..problems.linear import coefficients, operator_kind
from .watch import TimeWatch


def _edge(problem: Problem, points: np.ndarray, tag: str):
    """The ``[[boundary]]`` entry covering an edge (its interior points), or None."""
    which = problem.assign_boundary(points, np.full(len(points), tag))
    if len(set(which.tolist())) > 1:
        raise ProblemError(f"the {tag} edge must carry one condition for the space-time reference",
                           problem.source, "boundary")
    return None if which[0] < 0 else problem.boundaries[int(which[0])]


def solve_spacetime(problem: Problem, nx: int = 401, ny: int = 201, rtol: float = 1e-8,
                    atol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve a non-elliptic ``linear`` problem (see the module docstring).

    Returns
    -------
    x, y, u
        Grid axes and the solution ``u[i, j] = u(x_i, y_j)``.
    """
    c = coefficients(problem)
    cu, cx, cy, cxx, cyy = (float(v) for v in c)
    kind = operator_kind(c)
    where = "pde"
    if not isinstance(problem.domain, Box):
        raise ProblemError(f"the space-time reference ({kind} operator, y is time) needs a box domain",
                           problem.source, "domain")
    second = cyy != 0
    if second and not (cxx * cyy < 0 or (cxx == 0 and cx == 0)):
        raise ProblemError("a second y-derivative needs a wave operator (c_xx c_yy < 0) for the space-time "
                           "reference", problem.source, where)
    if not second and cy == 0:
        raise ProblemError("no y-derivative: the operator does not evolve in y (y is time here)",
                           problem.source, where)
    if not second and cxx * cy > 0:
        raise ProblemError("c_xx / c_y > 0 is a backward heat equation: ill-posed marching up in y",
                           problem.source, where)
    (x0, y0), (x1, y1) = problem.domain.lo, problem.domain.hi
    x, y = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    h = x[1] - x[0]
    mid = np.linspace(y0, y1, 7)[1:-1]
    bottom = _edge(problem, np.stack([x[1:-1], np.full(nx - 2, y0)], 1), "bottom")
    if _edge(problem, np.stack([x[1:-1], np.full(nx - 2, y1)], 1), "top") is not None:
        raise ProblemError("the top edge is the final time of a space-time problem: it takes no condition",
                           problem.source, "boundary")
    need = "cauchy" if second else "dirichlet"
    if bottom is None or bottom.type != need:
        raise ProblemError(f"the bottom edge (the initial line, y = {y0:g}) needs a {need} condition for a "
                           f"{kind} operator", problem.source, "boundary")
    sides = {}
    for tag, xs in (("left", x0), ("right", x1)):
        sides[tag] = _edge(problem, np.stack([np.full(len(mid), xs), mid], 1), tag)
    # which sides are imposed: both for diffusion, the inflow side for pure advection
    if cxx != 0:
        imposed = ("left", "right")
    elif cx != 0:
        speed = cx / cy if not second else 0.0
        imposed = ("left",) if speed > 0 else ("right",)
    else:
        imposed = ()
    for tag in imposed:
        bc = sides[tag]
        allowed = ("dirichlet", "neumann") if cxx != 0 else ("dirichlet",)
        if bc is None or bc.type not in allowed:
            raise ProblemError(f"the {tag} edge needs a {' or '.join(allowed)} condition", problem.source, "boundary")

    def side_value(tag: str, t: float) -> float:
        xs = x0 if tag == "left" else x1
        return float(sides[tag].value[0](np.array([[xs, t]]))[0])

    lap = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(nx, nx), format="lil") / h**2
    if cxx != 0:
        grad = sp.diags([-1.0, 1.0], [-1, 1], shape=(nx, nx), format="lil") / (2 * h)
    else:  # second-order upwind against the direction of travel
        up = cx / cy > 0 if cy != 0 else True
        stencil = ([1.0, -4.0, 3.0], [-2, -1, 0]) if up else ([-3.0, 4.0, -1.0], [0, 1, 2])
        grad = sp.diags(stencil[0], stencil[1], shape=(nx, nx), format="lil") / (2 * h)
    S = (cu * sp.identity(nx) + cx * grad.tocsr() + cxx * lap.tocsr()).tocsr()
    dirichlet = [i for tag, i in (("left", 0), ("right", nx - 1)) if tag in imposed and sides[tag].type == "dirichlet"]
    neumann = [(tag, i) for tag, i in (("left", 0), ("right", nx - 1)) if tag in imposed and sides[tag].type == "neumann"]
    # ghost points of Neumann sides: u_{-1} = u_1 + 2 h g (left: du/dn = -u_x = g)
    S = S.tolil()
    for tag, i in neumann:
        j = 1 if i == 0 else nx - 2
        S[i, j] += cxx / h**2 - (cx / (2 * h) if i == 0 else -cx / (2 * h))
    S = S.tocsr()
    free = np.setdiff1d(np.arange(nx), dirichlet)

    def source(t: float) -> np.ndarray:
        return np.broadcast_to(problem.pde.f(np.stack([x, np.full(nx, t)], 1)), nx).astype(float)

    def neumann_source(t: float) -> np.ndarray:
        out = np.zeros(nx)
        for tag, i in neumann:  # the ghost value's known part, 2 h g, through c_xx / h^2 and c_x / 2h
            g = side_value(tag, t)
            out[i] += 2 * h * g * (cxx / h**2 - (cx / (2 * h) if i == 0 else -cx / (2 * h)))
        return out

    def full(u_free: np.ndarray, t: float) -> np.ndarray:
        u = np.zeros(nx)
        u[free] = u_free
        for i in dirichlet:
            u[i] = side_value("left" if i == 0 else "right", t)
        return u

    pts0 = np.stack([x, np.full(nx, y0)], 1)
    u0 = bottom.value[0](pts0) * np.ones(nx)
    scale = float(np.max(np.abs(u0), initial=0.0))
    if second:
        v0 = -bottom.value[1](pts0) * np.ones(nx)  # du/dn on the bottom edge is -u_y

        def rhs2(t: float, z: np.ndarray) -> np.ndarray:
            u = full(z[: len(free)], t)
            v = np.zeros(nx)
            v[free] = z[len(free):]
            acc = (source(t) - S @ u - neumann_source(t) - cy * v) / cyy
            return np.concatenate([v[free], acc[free]])

        with TimeWatch("space-time", y0, y1, scale) as watch:
            sol = solve_ivp(watch.rhs(rhs2), (y0, y1), np.concatenate([u0[free], v0[free]]), method="DOP853",
                            t_eval=y, rtol=rtol, atol=atol)
    else:
        def rhs1(t: float, z: np.ndarray) -> np.ndarray:
            return ((source(t) - S @ full(z, t) - neumann_source(t)) / cy)[free]

        jac = (-S[free][:, free] / cy).tocsc()
        with TimeWatch("space-time", y0, y1, scale) as watch:
            sol = solve_ivp(watch.rhs(rhs1), (y0, y1), u0[free], method="BDF", t_eval=y, rtol=rtol, atol=atol,
                            jac=jac)
    if not sol.success:
        raise SolverError(f"the space-time reference failed: {sol.message}")
    u = np.stack([full(sol.y[: len(free), k], t) for k, t in enumerate(y)], axis=1)
    return x, y, u
