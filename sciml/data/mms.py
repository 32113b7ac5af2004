"""The method of manufactured solutions for HyPINO's training data (Bischof et al., 2025, the
authors' ``RandomFunction`` and operator sampler).

* Operators ``L u = c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy`` with one to three of the
  five terms, coefficients ``U(-2, 2)`` (:func:`random_operator`), classified by their principal
  part (:func:`operator_kind`).
* Manufactured solutions (:class:`RandomFunction`): six to ten compositional terms, each
  ``psi(a x + b y + c)`` with ``psi`` one of identity, sin, cos, tanh, sigmoid, ``1 / (1 + s^2)``,
  ``a, b`` zero with probability 1/2 and else ``U(-10, 10)``, ``c, d, e ~ U(-2 pi, 2 pi)``, combined
  by a rule: add (``u += d psi + e``), multiply (``u *= d psi + e``) or compose (``u = d psi(u) + e``);
  the last term has ``d = 1, e = 0``. Its parameters are drawn once, so the grid, interior and
  boundary points of a sample all see the same function.
* ``f = L u`` and the derivatives by autograd (float64); :func:`acceptable` is the code's
  rejection filter (with the paper's ranges about one draw in five passes it: 61 of 300 draws
  with random operators on 2,048 points, measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..problems.linear import TERMS, apply, operator_kind  # noqa: F401  (re-exported)

PSI = ("identity", "sin", "cos", "tanh", "sigmoid", "rational")
RULES = ("add", "mult", "compose")


def random_operator(rng: np.random.Generator, max_terms: int = 3, bound: float = 2.0) -> np.ndarray:
    """Coefficients ``(c_u, c_x, c_y, c_xx, c_yy)`` with 1 to ``max_terms`` non-zero terms,
    each ``U(-bound, bound)``."""
    c = np.zeros(len(TERMS))
    chosen = rng.choice(len(TERMS), size=int(rng.integers(1, max_terms + 1)), replace=False)
    c[chosen] = rng.uniform(-bound, bound, len(chosen))
    return c


def _psi(name: str, s: torch.Tensor) -> torch.Tensor:
    if name == "identity":
        return s
    if name == "sin":
        return torch.sin(s)
    if name == "cos":
        return torch.cos(s)
    if name == "tanh":
        return torch.tanh(s)
    if name == "sigmoid":
        return torch.sigmoid(s)
    return 1.0 / (1.0 + s * s)


def _grad(y: torch.Tensor, x: torch.Tensor, keep: bool) -> torch.Tensor:
    """``d sum(y) / dx``, zeros where ``y`` does not depend on ``x`` (a constant term)."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    return torch.autograd.grad(y.sum(), x, create_graph=keep, retain_graph=True, materialize_grads=True)[0]


@dataclass(frozen=True)
class Term:
    psi: str
    rule: str
    a: float
    b: float
    c: float
    d: float
    e: float


@dataclass(frozen=True)
class RandomFunction:
    """A manufactured solution ``u(x, y)`` (see the module docstring)."""

    terms: tuple[Term, ...]

    @classmethod
    def draw(cls, rng: np.random.Generator, n_terms: tuple[int, int] = (6, 10), ab: float = 10.0) -> "RandomFunction":
        count = int(rng.integers(n_terms[0], n_terms[1] + 1))
        terms = []
        for k in range(count):
            a, b = (0.0 if rng.random() < 0.5 else float(rng.uniform(-ab, ab)) for _ in range(2))
            c, d, e = (float(v) for v in rng.uniform(-2 * math.pi, 2 * math.pi, 3))
            if k == count - 1:
                d, e = 1.0, 0.0
            rule = "add" if k == 0 else RULES[int(rng.integers(len(RULES)))]
            terms.append(Term(PSI[int(rng.integers(len(PSI)))], rule, a, b, c, d, e))
        return cls(tuple(terms))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``u`` at points ``x`` ``(N, 2)`` (differentiable)."""
        u = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for t in self.terms:
            if t.rule == "compose":
                u = t.d * _psi(t.psi, u) + t.e
                continue
            value = t.d * _psi(t.psi, t.a * x[:, 0] + t.b * x[:, 1] + t.c) + t.e
            u = u + value if t.rule == "add" else u * value
        return u

    def derivatives(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """``u, ux, uy, uxx, uyy`` at ``points`` ``(N, 2)`` by autograd in float64."""
        x = torch.as_tensor(points, dtype=torch.float64).clone().requires_grad_(True)
        u = self(x)
        g = _grad(u, x, True)
        uxx, uyy = _grad(g[:, 0], x, True)[:, 0], _grad(g[:, 1], x, False)[:, 1]
        return {"u": u.detach().numpy(), "ux": g[:, 0].detach().numpy(), "uy": g[:, 1].detach().numpy(),
                "uxx": uxx.detach().numpy(), "uyy": uyy.detach().numpy()}


def acceptable(derivs: dict[str, np.ndarray], f: np.ndarray, dirichlet: np.ndarray | None = None,
               neumann: np.ndarray | None = None) -> bool:
    """The code's rejection filter: finite values, ``|u| <= 10``, ``std(u) >= 0.1``, every
    derivative and ``|f| <= 1e4``, Dirichlet data ``<= 10`` and Neumann data ``<= 100``."""
    u = derivs["u"]
    arrays = [*derivs.values(), f] + [a for a in (dirichlet, neumann) if a is not None]
    if not all(np.isfinite(a).all() for a in arrays):
        return False
    if np.abs(u).max() > 10 or u.std() < 0.1:
        return False
    if max(np.abs(derivs[k]).max() for k in TERMS[1:]) > 1e4 or np.abs(f).max() > 1e4:
        return False
    if dirichlet is not None and len(dirichlet) and np.abs(dirichlet).max() > 10:
        return False
    return not (neumann is not None and len(neumann) and np.abs(neumann).max() > 100)
