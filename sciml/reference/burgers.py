"""Burgers reference: Fourier pseudo-spectral method of lines with ``solve_ivp``.

``u_t + F(u)_x = nu u_xx`` on an interval (Burgers: ``F = u^2/2``). Periodic problems use the
Fourier series of the interval; homogeneous Dirichlet problems use the odd extension to twice
the interval (a sine series), which keeps ``u = 0`` at both ends exactly and needs an odd flux
derivative (Burgers' is). The nonlinear term is evaluated in conservative form ``F(u)_x`` with
the 2/3 de-aliasing rule.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import ProblemError, SolverError
from ..problems import Problem
from .watch import TimeWatch


def solve_burgers(problem: Problem, modes: int = 2048, snapshots: int = 101,
                  rtol: float = 1e-8, atol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid ``x (n,)``, times ``(s,)`` and values ``(s, n)``."""
    a, b = (float(v[0]) for v in problem.domain.bounds)
    kinds = {bc.type for bc in problem.boundaries}
    if kinds == {"periodic"}:
        odd = False
    elif kinds == {"dirichlet"} and all(bc.value[0].is_constant and float(bc.value[0].numpy()) == 0
                                        for bc in problem.boundaries):
        odd = True
    else:
        raise ProblemError("the burgers reference supports periodic or homogeneous Dirichlet "
                           "boundaries", problem.source, "boundary")
    nu = float(problem.pde.nu.numpy())
    flux = problem.pde.flux
    probe = np.linspace(-3, 3, 13)
    if odd and not np.allclose(flux.numpy(u=probe), flux.numpy(u=-probe)):
        raise ProblemError("the burgers reference's Dirichlet mode (odd extension) needs an even flux "
                           "F(-u) = F(u); use periodic boundaries for this flux", problem.source, "pde.flux")
    length = (b - a) * (2 if odd else 1)
    n = 2 * modes if odd else modes  # `modes` grid intervals across the physical interval
    x_ext = a + length * np.arange(n) / n
    k = 2 * np.pi * np.fft.rfftfreq(n, d=length / n)
    cut = np.abs(np.fft.rfftfreq(n) * n) > n / 3  # 2/3 rule on wavenumber index

    half = n // 2
    def extend(u_in: np.ndarray) -> np.ndarray:
        if not odd:
            return u_in
        return np.concatenate([[0.0], u_in, [0.0], -u_in[::-1]])

    u0_full = problem.initial["u"](x_ext[:, None], problem.time.start)
    inner = slice(1, half) if odd else slice(0, n)
    y0 = u0_full[inner]

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        u = extend(y)
        uh = np.fft.rfft(u)
        nl = np.fft.rfft(flux.numpy(u=u))
        nl[cut] = 0
        du = np.fft.irfft(-1j * k * nl - nu * k**2 * uh, n)
        return du[inner]

    span = problem.time
    times = np.linspace(span.start, span.end, snapshots)
    with TimeWatch("burgers", span.start, span.end, float(np.max(np.abs(y0), initial=0.0))) as watch:
        res = solve_ivp(watch.rhs(rhs), (span.start, span.end), y0, method="RK45", t_eval=times, rtol=rtol,
                        atol=atol)
    if not res.success:
        raise SolverError(f"burgers time integration failed: {res.message}")
    if odd:
        x = a + length * np.arange(half + 1) / n
        values = np.concatenate([np.zeros((len(times), 1)), res.y.T, np.zeros((len(times), 1))], axis=1)
    else:  # close the period so interpolation covers [a, b]
        x = np.append(x_ext, b)
        values = np.concatenate([res.y.T, res.y.T[:, :1]], axis=1)
    return x, res.t, values
