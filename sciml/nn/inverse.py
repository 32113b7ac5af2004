"""Unknowns of inverse problems and the data that determine them, for every solver that trains.

Raissi, Perdikaris & Karniadakis (J. Comput. Phys. 378, 2019, section 4) identify the
parameters of a PDE by training them beside the network, with a misfit to observations added to
the physics loss; DeepXDE's ``dde.Variable`` does the same. Here:

* a scalar unknown is ``theta = guess exp(p)`` with ``p`` trained from 0 at its own learning
  rate (:class:`ScalarUnknowns`), so a step is a relative change and a tenfold error takes
  ``ln 10 / lr`` steps whatever the units; it keeps the guess's sign;
* an unknown coefficient function (``k(x)`` in ``-div(k grad u) = f``, a source ``f(x)``) is a
  second small network (:class:`FieldUnknown`): ``guess exp(N(x))`` when positive, a sigmoid of
  ``N`` between bounds, ``guess + N`` otherwise, with ``N = 0`` at the start (its last layer is
  zero), and a smoothness penalty ``w mean |grad k|^2 / guess^2``;
* observations come from the file or are synthesised from ``[exact]`` or the SciPy reference at
  the true ``[parameters]`` (and the true coefficients of ``[pde]``) at random points of the
  domain (:func:`observations`); the data term is their mean-square misfit, or, in ``hard``
  mode, the field is corrected by a Gaussian interpolant of the misfits so that it passes
  through them exactly (:class:`Interpolated`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError
from ..problems import Problem
from ..problems.inverse import FieldSpec, InverseSpec, warn_unused_noise
from .jet import AutogradJet, Field, Jet
from .layers import MLP, Normalize


class ScalarUnknowns(nn.Module):
    """Scalar unknowns ``theta_i = guess_i exp(p_i)``, ``p`` trained at ``lr_scale`` times the
    optimiser's learning rate (the trainer reads the parameter's ``lr_scale``).

    >>> u = ScalarUnknowns(["s"], [0.25], lr_scale=10.0)
    >>> float(u.theta()[0]), u.values()["s"].requires_grad
    (0.25, True)
    """

    def __init__(self, names: Sequence[str], guesses: Sequence[float], lr_scale: float = 1.0,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        if any(g == 0 for g in guesses):
            raise ValueError("initial guesses must be non-zero (an unknown is trained as guess x exp(p))")
        self.names = list(names)
        self.register_buffer("guess", torch.as_tensor(list(guesses), dtype=dtype))
        self.p = nn.Parameter(torch.zeros(len(self.names), dtype=dtype))
        self.p.lr_scale = lr_scale

    def theta(self) -> torch.Tensor:
        return self.guess * torch.exp(self.p)

    def values(self) -> dict[str, torch.Tensor]:
        """Name -> 0-d tensor (with gradient), to bind in expressions."""
        theta = self.theta()
        return {n: theta[i] for i, n in enumerate(self.names)}


class FieldUnknown(nn.Module):
    """An unknown coefficient function of space, ``k(x)``, from a small tanh MLP ``N`` on the
    normalised coordinates (see the module doc for the maps that keep it positive or bounded).
    """

    def __init__(self, spec: FieldSpec, lo: Sequence[float], hi: Sequence[float]):
        super().__init__()
        self.spec = spec
        self.normalize = Normalize(lo, hi)
        self.mlp = MLP([len(lo), *spec.hidden, 1], "tanh")
        with torch.no_grad():  # N = 0 at the start: the field starts at its guess
            self.mlp.linears[-1].weight.zero_()
            self.mlp.linears[-1].bias.zero_()
        if spec.bounds is not None:
            lo_b, hi_b = spec.bounds
            self.offset = math.log((spec.guess - lo_b) / (hi_b - spec.guess))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Values ``(P,)`` at space points ``x`` ``(P, dim)``."""
        n = self.mlp(self.normalize(x))[:, 0]
        s = self.spec
        if s.positive:
            return s.guess * torch.exp(n)
        if s.bounds is not None:
            return s.bounds[0] + (s.bounds[1] - s.bounds[0]) * torch.sigmoid(n + self.offset)
        return s.guess + n

    def penalty(self, x: torch.Tensor) -> torch.Tensor:
        """``mean |grad k|^2 / guess^2`` at space points ``x`` (the smoothness term, unweighted)."""
        leaf = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self(leaf).sum(), leaf, create_graph=True)
        size = abs(self.spec.guess) or 1.0
        return g.pow(2).sum(dim=1).mean() / size**2


class Unknowns(nn.Module):
    """All unknowns of an ``[inverse]`` section: scalars and coefficient functions."""

    def __init__(self, spec: InverseSpec, problem: Problem, lr_scale: float, dtype: torch.dtype):
        super().__init__()
        self.scalars = (ScalarUnknowns(list(spec.unknowns), list(spec.unknowns.values()), lr_scale, dtype)
                        if spec.unknowns else None)
        self.fields = nn.ModuleDict({name: FieldUnknown(f, *problem.domain.bounds)
                                     for name, f in spec.fields.items()}).to(dtype)

    def scalar_values(self) -> dict[str, torch.Tensor]:
        return self.scalars.values() if self.scalars is not None else {}

    def penalty(self, x: torch.Tensor, weights: Mapping[str, float]) -> torch.Tensor | None:
        """The weighted smoothness penalties of the coefficient functions at space points."""
        parts = [weights[n] * f.penalty(x) for n, f in self.fields.items() if weights[n] > 0]
        return torch.stack(parts).sum() if parts else None

    def recovered(self) -> dict[str, float]:
        return {n: float(v.detach()) for n, v in self.scalar_values().items()}


def check_guesses(spec: InverseSpec, problem: Problem) -> None:
    """Refuse a zero guess: an unknown is trained as ``guess exp(p)`` and keeps its sign."""
    if any(g == 0 for g in spec.unknowns.values()):
        raise ProblemError("initial guesses must be non-zero (an unknown is trained as guess x exp(p) "
                           "and keeps its sign)", problem.source, "inverse.unknowns")


def check_unknowns(spec: InverseSpec, problem: Problem) -> None:
    """Refuse what the physics-informed solvers cannot identify: zero guesses, and unknowns in
    boundary or initial data (they must appear in the PDE's coefficients)."""
    check_guesses(spec, problem)
    names = set(spec.unknowns)
    for i, bc in enumerate(problem.boundaries):
        used = set().union(*(e.used for e in bc.value)) if bc.value else set()
        if used & names:
            raise ProblemError(f"boundary data depend on the unknown {sorted(used & names)[0]!r}: unknowns "
                               "must appear in [pde] coefficients", problem.source, f"boundary[{i}].value")
    for name, expr in (problem.initial or {}).items():
        used = getattr(expr, "used", set())
        if used & names:
            raise ProblemError(f"initial data depend on the unknown {sorted(used & names)[0]!r}: unknowns "
                               "must appear in [pde] coefficients", problem.source, f"initial.{name}")


def observations(spec: InverseSpec, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Observation points ``(n, input_dim)`` and values ``(n, components)``, with the section's
    noise: given in the file, or ``synthetic`` random points of the domain (and of the time
    span) where ``[exact]`` or the SciPy reference, at the true parameters, gives the values."""
    warn_unused_noise(spec, problem)
    rng = np.random.default_rng(spec.seed)
    if spec.synthetic:
        n = spec.synthetic
        parts = [problem.domain.sample_interior(n, "random", rng)] if problem.dim else []
        if problem.transient:
            parts.append(rng.uniform(problem.time.start, problem.time.end, (n, 1)))
        points = np.concatenate(parts, axis=1)
        values = truth(problem)(points)
    else:
        if spec.points is None or spec.values is None:
            raise ProblemError("no observations", problem.source, "inverse.observations")
        points, values = spec.points, spec.values
        if points.shape[1] != problem.input_dim:
            raise ProblemError(f"observation points need {problem.input_dim} coordinates (space"
                               f"{' then t' if problem.transient else ''}), got {points.shape[1]}",
                               problem.source, "inverse.observations")
    return points, spec.noisy(np.asarray(values, dtype=float).reshape(len(points), -1), rng)


def truth(problem: Problem) -> Any:
    """``points -> values`` of the true solution: ``[exact]`` or the SciPy reference."""
    if problem.has_exact:
        return lambda pts: np.asarray(problem.exact_values(pts), dtype=float).reshape(len(pts), -1)
    from ..solvers import get

    try:
        reference = get("reference").solve(problem)
    except ProblemError as exc:
        raise ProblemError(f"synthetic observations need [exact] or a SciPy reference: {exc.message}",
                           problem.source, "inverse.observations.synthetic") from None
    return lambda pts: np.asarray(reference(pts), dtype=float).reshape(len(pts), -1)


class SumJet(Jet):
    """The jet of ``a + b``."""

    def __init__(self, a: Jet, b: Jet):
        self.a, self.b = a, b
        self.value = a.value + b.value

    def d(self, i: int) -> torch.Tensor:
        return self.a.d(i) + self.b.d(i)

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self.a.dd(i, j) + self.b.dd(i, j)

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        return self.a.derivative(axes) + self.b.derivative(axes)


class Interpolated(Field):
    """``u + sum_k c_k phi_k``: ``inner`` corrected by Gaussians centred on the observation
    points, with ``c`` solving ``Phi c = d - u(X)`` at every call, so the field passes through
    the observations (``hard`` mode). The width is the mean distance to the nearest other
    observation (in coordinates normalised by the input box)."""

    def __init__(self, inner: Field, points: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        super().__init__()
        self.inner = inner
        span = np.where(hi > lo, hi - lo, 1.0)
        self.register_buffer("span", torch.as_tensor(span))
        self.register_buffer("points", torch.as_tensor(points))
        self.register_buffer("values", torch.as_tensor(values))
        z = points / span
        dist = np.linalg.norm(z[:, None] - z[None], axis=-1)
        np.fill_diagonal(dist, np.inf)
        near = dist.min(axis=1) if len(points) > 1 else np.ones(1)
        self.width = float(np.mean(near[np.isfinite(near)])) if np.isfinite(near).any() else 1.0
        phi = self._phi_np(z, z)
        self.register_buffer("chol", torch.as_tensor(np.linalg.cholesky(phi + 1e-10 * np.eye(len(z)))))

    def _phi_np(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-np.sum((a[:, None] - b[None]) ** 2, axis=-1) / (2 * self.width**2))

    def _phi(self, x: torch.Tensor) -> torch.Tensor:
        z, c = x / self.span.to(x.dtype), self.points.to(x.dtype) / self.span.to(x.dtype)
        return torch.exp(-(z[:, None] - c[None]).pow(2).sum(-1) / (2 * self.width**2))

    def _coefficients(self, like: torch.Tensor) -> torch.Tensor:
        pts = self.points.to(like.dtype)
        misfit = self.values.to(like.dtype) - _values(self.inner(pts))
        return torch.cholesky_solve(misfit, self.chol.to(like.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _values(self.inner(x)) + self._phi(x) @ self._coefficients(x)

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        inner = self.inner.jet(x, order, pairs)
        coef = self._coefficients(x)
        if order == 0:
            from .jet import ExplicitJet

            return ExplicitJet(inner.value + self._phi(x) @ coef)
        leaf = x.detach().requires_grad_(True)
        return SumJet(inner, AutogradJet(self._phi(leaf) @ coef, leaf))


def _values(y: torch.Tensor) -> torch.Tensor:
    return y if y.ndim == 2 else y[:, None]


class InverseSetup:
    """What a physics-informed solver needs for an ``[inverse]`` section: the spec, the
    observations and the trainable unknowns."""

    def __init__(self, problem: Problem, spec: InverseSpec, lr_scale: float, dtype: torch.dtype):
        check_unknowns(spec, problem)
        if spec.fields and problem.dim == 0:
            raise ProblemError("an ODE has no coefficient functions of space", problem.source, "inverse.fields")
        self.problem, self.spec = problem, spec
        self.points, self.values = observations(spec, problem)
        self.unknowns = Unknowns(spec, problem, lr_scale, dtype)

    def hard(self) -> bool:
        return self.spec.mode == "hard"

    def info(self) -> dict[str, Any]:
        """Recovered values (as ``ggn`` reports them) and the observations used."""
        p, spec = self.problem, self.spec
        out: dict[str, Any] = {}
        for name, value in self.unknowns.recovered().items():
            true = float(p.parameters[name])
            out[name] = {"recovered": value, "initial": spec.unknowns[name], "true": true,
                         "rel_error": abs(value - true) / (abs(true) or 1.0)}
        return {"inverse": out, "observations": {"mode": spec.mode, "noise": spec.noise, "known_noise": spec.known_noise,
                                                 "count": len(self.points)}}

    @torch.no_grad()
    def coefficient_values(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """The recovered coefficient functions at space points, and the true ones of ``[pde]``
        (``NAME_true``)."""
        out = {}
        for name, f in self.unknowns.fields.items():
            param = next(f.parameters())
            x = torch.as_tensor(points[:, : self.problem.dim], dtype=param.dtype, device=param.device)
            out[name] = f(x).double().cpu().numpy()
            out[f"{name}_true"] = true_coefficient(self.problem, name, points[:, : self.problem.dim])
        return out

    def field_errors(self) -> dict[str, dict[str, float]]:
        """Relative L2 error of each recovered coefficient function at the evaluation points."""
        pts = self.problem.evaluation_points()
        pts = np.unique(pts[:, : self.problem.dim], axis=0)
        values = self.coefficient_values(pts)
        out = {}
        for name in self.unknowns.fields:
            rec, true = values[name], values[f"{name}_true"]
            out[name] = {"rel_l2": float(np.linalg.norm(rec - true) / (np.linalg.norm(true) or 1.0)),
                         "guess": self.spec.fields[name].guess}
        return out


def true_coefficient(problem: Problem, name: str, points: np.ndarray) -> np.ndarray:
    """The coefficient ``name`` of ``[pde]`` (the truth of an unknown function) at space points."""
    expr = problem.pde.coefs[name]
    from ..problems.expr import coordinates

    return np.broadcast_to(expr.numpy(**coordinates(points)), (len(points),)).astype(float)
