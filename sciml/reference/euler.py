"""2D incompressible Euler in a box with slip walls: a vorticity-streamfunction spectral
reference.

``omega_t + u.grad omega = 0``, ``lap psi = -omega``, ``u = (psi_y, -psi_x)``, with ``psi = 0``
(no flow through the walls). Vorticity and streamfunction are sine series
``sum a_mn sin(k_m (x - x0)) sin(l_n (y - y0))`` (so the vorticity of the initial field must
vanish on the walls, as it then does for all time: the Taylor-Green vortex's does), evaluated
on a regular grid with type-I sine and cosine transforms; the advection term is computed on
the grid and dealiased by the 2/3 rule; time stepping is classical RK4 at a CFL number of 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.fft import dct, dst

from ..errors import ProblemError
from ..geometry import Box
from ..problems import Problem
from .watch import TimeWatch


def _sine(a: np.ndarray, axis: int) -> np.ndarray:
    """Synthesis of a sine series along ``axis`` on the full grid (walls included)."""
    v = dst(a, type=1, axis=axis) / 2
    pad = [(0, 0)] * a.ndim
    pad[axis] = (1, 1)
    return np.pad(v, pad)


def _cosine(c: np.ndarray, axis: int) -> np.ndarray:
    """Synthesis of ``sum_m c_m cos(k_m x)`` (m >= 1) along ``axis`` on the full grid."""
    pad = [(0, 0)] * c.ndim
    pad[axis] = (1, 1)
    return dct(np.pad(c, pad), type=1, axis=axis) / 2


class SineBox:
    """Sine-series calculus on the box ``[lo, hi]`` with ``n`` intervals per axis."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, n: int):
        self.lo, self.hi, self.n = lo, hi, n
        self.axes = [np.linspace(lo[i], hi[i], n + 1) for i in range(2)]
        m = np.arange(1, n)
        self.k = [math.pi * m / (hi[i] - lo[i]) for i in range(2)]
        self.k2 = self.k[0][:, None] ** 2 + self.k[1][None, :] ** 2
        keep = m <= (2 * n) // 3
        self.dealias = keep[:, None] & keep[None, :]

    def coefficients(self, f: np.ndarray) -> np.ndarray:
        """Sine coefficients of interior values ``(n - 1, n - 1)``."""
        return dst(dst(f, type=1, axis=0), type=1, axis=1) / self.n ** 2

    def d(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Derivative along ``axis`` of the series ``a``, on the full grid."""
        k = self.k[axis][:, None] if axis == 0 else self.k[axis][None, :]
        b = a * k
        return _sine(_cosine(b, 0), 1) if axis == 0 else _cosine(_sine(b, 0), 1)

    def velocity(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u, v)`` on the full grid from vorticity coefficients."""
        psi = w / self.k2
        return self.d(psi, 1), -self.d(psi, 0)

    def rate(self, w: np.ndarray) -> np.ndarray:
        """``d omega_hat / dt = -P(u.grad omega)``."""
        u, v = self.velocity(w)
        adv = u * self.d(w, 0) + v * self.d(w, 1)
        return -self.coefficients(adv[1:-1, 1:-1]) * self.dealias


def _initial_vorticity(problem: Problem, grid: SineBox) -> tuple[np.ndarray, np.ndarray]:
    """The curl ``v_x - u_y`` of the initial velocity on the interior nodes (by autograd of the
    initial expressions) and the largest initial speed."""
    X, Y = np.meshgrid(*grid.axes, indexing="ij")
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(Y, dtype=torch.float64, requires_grad=True)
    u = problem.initial["ux"].torch(x=x, y=y) + 0 * x
    v = problem.initial["uy"].torch(x=x, y=y) + 0 * x
    (u_y,) = torch.autograd.grad(u.sum(), y, allow_unused=True)
    (v_x,) = torch.autograd.grad(v.sum(), x, allow_unused=True)
    u_y = torch.zeros_like(x) if u_y is None else u_y
    v_x = torch.zeros_like(x) if v_x is None else v_x
    speed = float(torch.sqrt(u ** 2 + v ** 2).max().detach())
    return (v_x - u_y).detach().numpy()[1:-1, 1:-1], speed


def solve_euler(problem: Problem, h: float, snapshots: int = 101
                ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Velocity of ``problem`` on a grid of spacing about ``h``.

    Returns
    -------
    axes, times, values
        Grid axes (walls included), the ``snapshots`` output times and the velocity
        ``(snapshots, n_nodes, 2)`` in ``ij`` order.
    """
    if not isinstance(problem.domain, Box):
        raise ProblemError("the euler reference needs a box domain")
    lo, hi = problem.domain.bounds
    n = max(8, int(math.ceil(float(np.max(hi - lo)) / h)))
    grid = SineBox(lo, hi, n)
    w0, speed = _initial_vorticity(problem, grid)
    w = grid.coefficients(w0)
    times = np.linspace(problem.time.start, problem.time.end, snapshots)
    dx = float(np.min(hi - lo)) / n
    frames = []
    with TimeWatch("euler", times[0], times[-1], speed) as watch:
        for k, t in enumerate(times):
            if k:
                span = t - times[k - 1]
                steps = max(1, int(math.ceil(span * max(speed, 1e-12) / (0.5 * dx))))
                dt = span / steps
                for _ in range(steps):
                    k1 = grid.rate(w)
                    k2 = grid.rate(w + 0.5 * dt * k1)
                    k3 = grid.rate(w + 0.5 * dt * k2)
                    k4 = grid.rate(w + dt * k3)
                    w = w + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                u, v = grid.velocity(w)
                watch.check(t, u)
                watch.check(t, v)
                speed = float(np.sqrt(u ** 2 + v ** 2).max())
            u, v = grid.velocity(w)
            frames.append(np.stack([u.ravel(), v.ravel()], axis=1))
    return grid.axes, times, np.stack(frames)
