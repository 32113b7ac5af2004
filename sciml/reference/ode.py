"""ODE reference: ``scipy.integrate.solve_ivp`` at tight tolerances (DOP853 by default)."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import SolverError
from ..problems import Problem
from .watch import TimeWatch


def solve_ode(problem: Problem, n_out: int = 2001, method: str = "DOP853",
              rtol: float = 1e-10, atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Times ``(n_out,)`` and states ``(n_out, n_variables)``."""
    names = problem.pde.variables
    rhs = problem.pde.rhs
    y0 = np.array([float(problem.initial[v].numpy()) for v in names])

    def f(t: float, y: np.ndarray) -> np.ndarray:
        env = dict(zip(names, y), t=t)
        return np.array([float(r.numpy(**env)) for r in rhs])

    span = problem.time
    times = np.linspace(span.start, span.end, n_out)
    with TimeWatch("ode", span.start, span.end, growth=None) as watch:
        res = solve_ivp(watch.rhs(f), (span.start, span.end), y0, method=method, t_eval=times, rtol=rtol,
                        atol=atol)
    if not res.success:
        raise SolverError(f"solve_ivp failed: {res.message}")
    return times, res.y.T
