"""Random input functions for operator learning, and the sampled functions themselves.

Distributions (each ``sample(rng, lo, hi) -> SampledFunction``):

* :class:`GaussianRF1D`: a Gaussian random field with the RBF kernel
  ``sigma^2 exp(-|x - x'|^2 / (2 l^2))``, drawn on a fine grid through a Cholesky factor (float64,
  jitter 1e-13 as in the DeepONet code of Lu et al., Nat. Mach. Intell. 2021) and interpolated
  with cubic splines;
* :class:`GaussianRF2D`: the FNO data sets' field (Li et al., ICLR 2021) ``N(0, sigma^2 tau^(2 alpha
  - 2) (-lap + tau^2)^(-alpha))`` with zero-Neumann walls on a box, drawn spectrally from its cosine
  modes (the mean mode removed), interpolated bilinearly;
* :class:`Chebyshev` and :class:`PowerSeries`: ``sum_i a_i T_i(s)`` or ``sum_i a_i s^i`` with
  ``a_i ~ U(-M, M)`` and ``s`` the input mapped onto [-1, 1] (Chebyshev) or [0, 1] (power);
* ``threshold`` (an option of both Gaussian fields): ``high`` where the field is >= ``level``, else
  ``low`` (piecewise-constant coefficients, the FNO Darcy data with 12 and 3). The threshold is
  applied where the function is evaluated, to the interpolated field, so the coefficient is
  piecewise constant at every resolution it is sampled at (64^2 and 128^2 grids see the same
  interfaces).

A :class:`SampledFunction` is called like the expression language's functions, ``f(x)`` or
``f(x, y)``, with NumPy arrays (references, data sets) or torch tensors (physics-informed
losses, differentiable in the coordinates).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from scipy.fft import idctn
from scipy.interpolate import CubicSpline

from ..errors import ProblemError


class SampledFunction:
    """A drawn input function of ``dim`` coordinates."""

    dim: int

    def __call__(self, *coords: Any) -> Any:
        if len(coords) != self.dim:
            raise ProblemError(f"this random function takes {self.dim} coordinate(s), got {len(coords)}")
        torch = sys.modules.get("torch")  # tensors can only come from an imported torch
        if torch is not None and any(isinstance(c, torch.Tensor) for c in coords):
            return self._torch(*coords)
        return self._numpy(*(np.asarray(c, dtype=float) for c in coords))

    def _numpy(self, *coords: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _torch(self, *coords: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class Spline1D(SampledFunction):
    """Cubic spline through ``values`` at the increasing ``grid`` (extrapolated by the end
    polynomials)."""

    dim = 1

    def __init__(self, grid: np.ndarray, values: np.ndarray):
        self.grid, self.values = np.asarray(grid, dtype=float), np.asarray(values, dtype=float)
        self.spline = CubicSpline(self.grid, self.values)

    def _numpy(self, x: np.ndarray) -> np.ndarray:
        return self.spline(x)

    def _torch(self, x: Any) -> Any:
        import torch

        knots = torch.as_tensor(self.grid, dtype=x.dtype, device=x.device)
        i = (torch.searchsorted(knots, x.detach().contiguous(), right=True) - 1).clamp(0, len(self.grid) - 2)
        c = torch.as_tensor(self.spline.c, dtype=x.dtype, device=x.device)
        d = x - knots[i]
        return ((c[0, i] * d + c[1, i]) * d + c[2, i]) * d + c[3, i]


class Bilinear2D(SampledFunction):
    """Bilinear interpolation of ``values`` ``(nx, ny)`` on the grid ``axes`` (clamped outside)."""

    dim = 2

    def __init__(self, axes: tuple[np.ndarray, np.ndarray], values: np.ndarray):
        self.axes = tuple(np.asarray(a, dtype=float) for a in axes)
        self.values = np.asarray(values, dtype=float)

    def _cells(self, lib: Any, coords: tuple[Any, Any], axes: list[Any]) -> list[tuple[Any, Any]]:
        out = []
        for c, a in zip(coords, axes):
            n = a.shape[0]
            h = (a[-1] - a[0]) / (n - 1)
            s = lib.clip((c - a[0]) / h, 0, n - 1) if lib is np else ((c - a[0]) / h).clamp(0, n - 1)
            i = (np.floor(s).astype(int) if lib is np else s.detach().floor().long())
            i = np.minimum(i, n - 2) if lib is np else i.clamp(max=n - 2)
            out.append((i, s - i))
        return out

    def _blend(self, v: Any, cells: list[tuple[Any, Any]]) -> Any:
        (i, fx), (j, fy) = cells
        return ((1 - fx) * (1 - fy) * v[i, j] + fx * (1 - fy) * v[i + 1, j]
                + (1 - fx) * fy * v[i, j + 1] + fx * fy * v[i + 1, j + 1])

    def _numpy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.broadcast_arrays(x, y)
        return self._blend(self.values, self._cells(np, (x, y), list(self.axes)))

    def _torch(self, x: Any, y: Any) -> Any:
        import torch

        x, y = torch.broadcast_tensors(torch.as_tensor(x), torch.as_tensor(y))
        ref = x if x.is_floating_point() else y
        axes = [torch.as_tensor(a, dtype=ref.dtype, device=ref.device) for a in self.axes]
        v = torch.as_tensor(self.values, dtype=ref.dtype, device=ref.device)
        return self._blend(v, self._cells(torch, (x, y), axes))


class Polynomial1D(SampledFunction):
    """``sum_i a_i B_i(s)`` with ``s`` the input mapped from ``[lo, hi]`` onto ``[-1, 1]``
    (Chebyshev ``T_i``) or ``[0, 1]`` (monomials)."""

    dim = 1

    def __init__(self, coefficients: np.ndarray, lo: float, hi: float, basis: str):
        self.a, self.lo, self.hi, self.basis = np.asarray(coefficients, dtype=float), lo, hi, basis

    def _eval(self, x: Any) -> Any:
        s = (x - self.lo) / (self.hi - self.lo)
        if self.basis == "power":
            out = 0 * s + self.a[-1]
            for a in self.a[-2::-1]:  # Horner
                out = out * s + a
            return out
        s = 2 * s - 1
        t_prev, t = 0 * s + 1, s
        out = self.a[0] * t_prev
        for a in self.a[1:]:
            out = out + a * t
            t_prev, t = t, 2 * s * t - t_prev
        return out

    _numpy = _eval
    _torch = _eval


class Thresholded(SampledFunction):
    """``high`` where ``field >= level``, else ``low`` (a :class:`Threshold` applied to a sampled
    field at evaluation; piecewise constant, so its gradient is zero)."""

    def __init__(self, field: SampledFunction, threshold: "Threshold"):
        self.field, self.threshold, self.dim = field, threshold, field.dim

    def _numpy(self, *coords: np.ndarray) -> np.ndarray:
        return self.threshold(self.field._numpy(*coords))

    def _torch(self, *coords: Any) -> Any:
        import torch

        v = self.field._torch(*coords).detach()
        t = self.threshold
        return torch.where(v >= t.level, torch.full_like(v, t.high), torch.full_like(v, t.low))


# -- distributions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Threshold:
    """Map a field to ``high`` where it is >= ``level`` and ``low`` elsewhere."""

    low: float
    high: float
    level: float = 0.0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.where(values >= self.level, self.high, self.low)


@lru_cache(maxsize=8)
def _rbf_factor(lo: float, hi: float, n: int, length: float) -> np.ndarray:
    x = np.linspace(lo, hi, n)
    K = np.exp(-0.5 * ((x[:, None] - x[None, :]) / length) ** 2)
    return np.linalg.cholesky(K + 1e-13 * np.eye(n))


@dataclass(frozen=True)
class GaussianRF1D:
    """RBF-kernel Gaussian random field (see the module docstring)."""

    length_scale: float
    sigma: float = 1.0
    n_grid: int = 1000
    threshold: Threshold | None = None

    def __post_init__(self) -> None:
        if not (self.length_scale > 0 and self.sigma > 0 and self.n_grid >= 4):
            raise ProblemError("grf: length_scale and sigma must be positive and n_grid >= 4")

    def sample(self, rng: np.random.Generator, lo: Any, hi: Any) -> SampledFunction:
        lo, hi = float(np.ravel(lo)[0]), float(np.ravel(hi)[0])
        try:
            L = _rbf_factor(lo, hi, self.n_grid, self.length_scale)
        except np.linalg.LinAlgError:
            raise ProblemError(f"grf: the RBF covariance with l = {self.length_scale:g} on {self.n_grid} points "
                               "is not positive definite even with jitter; use fewer grid points") from None
        values = self.sigma * (L @ rng.standard_normal(self.n_grid))
        out: SampledFunction = Spline1D(np.linspace(lo, hi, self.n_grid), values)
        return out if self.threshold is None else Thresholded(out, self.threshold)


@dataclass(frozen=True)
class GaussianRF2D:
    """The FNO data sets' spectral Gaussian random field on a box (see the module docstring)."""

    alpha: float = 2.0
    tau: float = 3.0
    sigma: float = 1.0
    n_grid: int = 64
    threshold: Threshold | None = None

    def __post_init__(self) -> None:
        if not (self.alpha > 1 and self.tau > 0 and self.sigma > 0 and self.n_grid >= 4):
            raise ProblemError("grf2d: needs alpha > 1 (a continuous field), tau > 0, sigma > 0 and n_grid >= 4")

    def spectrum(self) -> np.ndarray:
        """Standard deviations of the cosine-mode coefficients ``(n_grid, n_grid)``, the mean
        mode zero (orthonormal DCT-II convention)."""
        k = np.arange(self.n_grid)
        k2 = k[:, None] ** 2 + k[None, :] ** 2
        std = self.sigma * self.tau ** (self.alpha - 1) * (math.pi ** 2 * k2 + self.tau ** 2) ** (-self.alpha / 2)
        std[0, 0] = 0.0
        return std * self.n_grid  # white noise of unit variance per grid cell

    def sample(self, rng: np.random.Generator, lo: Any, hi: Any) -> SampledFunction:
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        coef = self.spectrum() * rng.standard_normal((self.n_grid, self.n_grid))
        values = idctn(coef, type=2, norm="ortho")
        axes = tuple(lo[i] + (hi[i] - lo[i]) * (np.arange(self.n_grid) + 0.5) / self.n_grid for i in range(2))
        out: SampledFunction = Bilinear2D(axes, values)
        return out if self.threshold is None else Thresholded(out, self.threshold)


@dataclass(frozen=True)
class _Series:
    degree: int = 20
    M: float = 1.0
    basis: ClassVar[str] = ""

    def sample(self, rng: np.random.Generator, lo: Any, hi: Any) -> SampledFunction:
        return Polynomial1D(rng.uniform(-self.M, self.M, self.degree), float(np.ravel(lo)[0]),
                            float(np.ravel(hi)[0]), self.basis)


@dataclass(frozen=True)
class Chebyshev(_Series):
    """``sum_{i < degree} a_i T_i``, ``a_i ~ U(-M, M)`` (the DeepONet code's FiniteChebyshev)."""

    basis: ClassVar[str] = "chebyshev"


@dataclass(frozen=True)
class PowerSeries(_Series):
    """``sum_{i < degree} a_i s^i``, ``a_i ~ U(-M, M)`` (the DeepONet code's FinitePowerSeries)."""

    basis: ClassVar[str] = "power"
