"""``pig``: Physics-Informed Gaussians.

Kang, Bae, Park et al., "PIG: Physics-Informed Gaussians as Adaptive Parametric Mesh
Representations" (ICLR 2025). The solution is ``u(x) = NN(FE(x))`` where the feature embedding

    FE(x) = sum_i f_i exp(-1/2 (x - mu_i)^T Sigma_i^-1 (x - mu_i))

has trainable means ``mu_i``, covariances ``Sigma_i`` and feature vectors ``f_i``, and ``NN`` is
a tiny MLP (one hidden layer of 16, tanh). Everything is trained with the PINN loss.

Two forms of the embedding are offered (``form``):

* ``per_channel`` (default): each of the ``k`` feature channels has its own ``N`` Gaussians
  with scalar weights, which is what the authors' released code runs and what produced the
  paper's numbers (``n_gaussians`` is per channel, so the Helmholtz recipe uses 4 x 800);
* ``shared``: ``N`` Gaussians with ``k``-vector features, the formula as printed in the paper.

Derivatives are analytic. With the precision ``P = Sigma^-1`` and ``r = x - mu``,
``dG/dx = -G P r`` and ``d2G/dx dx^T = G ((P r)(P r)^T - P)``. Every quantity is a Gaussian
times a polynomial of degree <= 2 in ``x`` whose coefficients depend on the Gaussian alone, so
the exponents come from one matrix product of the monomials ``[1, x, x x^T]`` with a
per-Gaussian coefficient table, and the weighted sums over Gaussians from one more: only the
``(points, Gaussians)`` tensor is ever materialised and only first-order autograd (with respect
to the parameters) is needed. The derivatives then go through the MLP by forward-mode
propagation (:func:`sciml.nn.jet.mlp_jet`).

What was scaled down from the paper, and why, is in docs/solvers/pig.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Sequence

import torch
from torch import nn

from ..errors import ProblemError
from ..nn.fit import PhysicsConfig, input_box
from ..nn.flux import JUMP_AT, n_outputs
from ..nn.jet import ExplicitJet, Field, Jet, mlp_jet
from ..nn.layers import MLP, Normalize
from ..problems import Problem
from .base import PhysicsInformedSolver
from .registry import register


@dataclass
class PIGConfig(PhysicsConfig):
    """Options of ``pig`` (``[solver.pig]``); training options from :class:`PhysicsConfig`.

    Attributes
    ----------
    n_gaussians
        Gaussians per feature channel (``per_channel``) or in total (``shared``).
    channels
        Feature dimension ``k`` (4 in the paper's code).
    form
        ``per_channel`` (released code, default) or ``shared`` (the paper's formula).
    covariance
        ``diag`` (default) or ``full`` (a Cholesky factor of the precision, off-diagonal
        entries starting at 0).
    sigma0
        Initial standard deviation in normalised coordinates (inputs are mapped onto [-1, 1]).
    sigma_param
        ``softplus`` (default: ``sigma = sigma0 softplus(s / sigma0) > 0``, a softplus scaled to
        the initial width, so that a width moves at 0.63 of the raw rate at ``sigma0`` and can
        only approach zero geometrically) or ``raw`` (the released code's unconstrained sigma, of
        which only sigma^2 enters: Adam can carry it through zero, and a Gaussian of width ~1e-5
        makes the residual ~1e12; see docs/solvers/pig.md).
    sigma_min
        Floor on every width (``softplus`` only): ``sigma = sigma_min + (sigma0 - sigma_min)
        softplus(s / sigma0)``. ``auto`` (default): ``SIGMA_FLOOR`` times the spacing of one
        batch of collocation points in normalised coordinates, ``(2^D / n_interior)^(1/D)``
        (0.01 for 1000 points in space-time 2D + t). A Gaussian much narrower than that is met
        by almost no batch, so nothing in the loss holds it, and the batch that does meet it
        returns a residual of ~1/sigma^2 (docs/solvers/pig.md, "A floor on the widths"). ``0``:
        no floor.
    weight_std
        Standard deviation of the initial Gaussian weights (code: N(0, 0.01)).
    learn_means
        False freezes the means (the paper's ablation).
    head
        ``mlp`` (tanh, default), ``siren`` (sine head) or ``none`` (``u = FE(x)``; needs
        ``channels`` equal to the number of solution components).
    hidden
        Hidden width of the head (16).
    hard_bc
        Off by default for PIG (unlike ``pinn``): the Gaussians resolve boundary layers
        locally, so the penalty terms meet the data, while the distance-function product has to
        be recomputed on every resampled batch (docs/solvers/pig.md).
    first_order_at
        (Not an option.) ``residual_form = "auto"`` trains the first-order system for jumps in
        the conductivity only (:data:`sciml.nn.flux.JUMP_AT`; ``pinn``: also fast smooth
        variation), :mod:`sciml.nn.flux`.
    first_order_exact_only
        (Not an option.) ``auto`` trains elasticity in the mixed form only when every traction
        holds exactly (:func:`sciml.nn.flux.flux_plan`): with a traction-free hole held by a
        penalty the mixed form was 4-8x less accurate for ``pig`` than the primal one.
    """

    first_order_at: ClassVar[float] = JUMP_AT
    # a type whose auto form is first-order (elasticity's mixed form) only where every flux datum
    # is exact: with a traction-free hole by penalty the mixed form was 4-8x worse for pig
    first_order_exact_only: ClassVar[bool] = True

    n_gaussians: int = 200
    channels: int = 4
    form: Literal["per_channel", "shared"] = "per_channel"
    covariance: Literal["diag", "full"] = "diag"
    sigma0: float = 0.1
    sigma_param: Literal["raw", "softplus"] = "softplus"
    sigma_min: float | Literal["auto"] = "auto"
    weight_std: float = 0.01
    learn_means: bool = True
    head: Literal["mlp", "siren", "none"] = "mlp"
    hidden: int = 16
    siren_omega: float = 1.0
    adam_steps: int = 6000
    lr: float = 1e-2
    lr_schedule: Literal["constant", "exponential", "step", "cosine"] = "exponential"
    lr_gamma: float = 0.9995
    lbfgs_steps: int = 0
    n_interior: int = 1000
    n_boundary: int = 1000
    resample_every: int = 1
    hard_bc: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sigma_min != "auto":
            check_floor(self.sigma_min, self.sigma0, self.sigma_param)


Q_MAX = 80.0
SIGMA_FLOOR = 0.05  # the automatic width floor, as a fraction of one batch's point spacing


def check_floor(sigma_min: float, sigma0: float, sigma_param: str) -> None:
    """Refuse a width floor at or above the start width, or any floor on the raw widths."""
    if not 0.0 <= sigma_min < sigma0 or (sigma_min > 0 and sigma_param == "raw"):
        raise ProblemError(f"must lie in [0, sigma0 = {sigma0:g}) and be 0 with sigma_param = 'raw', "
                           f"got {sigma_min!r}", key="sigma_min")


def width_floor(cfg: PIGConfig, dim: int) -> float:
    """The width floor ``cfg.sigma_min`` resolves to for a ``dim``-dimensional input box."""
    if cfg.sigma_min != "auto":
        return float(cfg.sigma_min)
    if cfg.sigma_param == "raw":
        return 0.0
    return SIGMA_FLOOR * (2.0 ** dim / cfg.n_interior) ** (1.0 / dim)


def _monomials(x: torch.Tensor) -> torch.Tensor:
    """``[1, x_a, x_a x_b (a <= b)]`` per point: ``(P, 1 + d + d(d+1)/2)``."""
    d = x.shape[1]
    ia, ib = torch.triu_indices(d, d)
    return torch.cat([torch.ones_like(x[:, :1]), x, x[:, ia] * x[:, ib]], dim=1)


class GaussianEmbedding(nn.Module):
    """``FE(x)`` with analytic first and second input derivatives.

    Parameters
    ----------
    dim
        Input dimension (space, plus time for space-time problems).
    n_gaussians, channels, form, covariance, sigma0, sigma_param, weight_std, learn_means
        See :class:`PIGConfig`.
    generator
        Random generator for the initial means and weights.
    """

    def __init__(self, dim: int, n_gaussians: int, channels: int, form: str = "per_channel",
                 covariance: str = "diag", sigma0: float = 0.1, sigma_param: str = "softplus",
                 weight_std: float = 0.01, learn_means: bool = True,
                 generator: torch.Generator | None = None, sigma_min: float = 0.0):
        super().__init__()
        if n_gaussians < 1 or channels < 1:
            raise ProblemError("n_gaussians and channels must be positive")
        if sigma0 <= 0:
            raise ProblemError(f"sigma0 must be positive, got {sigma0}")
        self.dim, self.channels, self.form = dim, channels, form
        self.sigma_param, self.covariance = sigma_param, covariance
        groups, outs = (channels, 1) if form == "per_channel" else (1, channels)
        means = torch.rand(groups, n_gaussians, dim, generator=generator) * 2 - 1
        self.means = nn.Parameter(means, requires_grad=learn_means)
        check_floor(sigma_min, sigma0, sigma_param)
        self.sigma0, self.sigma_min = sigma0, sigma_min
        s0 = sigma0 if sigma_param == "raw" else sigma0 * math.log(math.expm1(1.0))
        self.sigma = nn.Parameter(torch.full((groups, n_gaussians, dim), s0))
        self.weights = nn.Parameter(torch.randn(groups, n_gaussians, outs, generator=generator) * weight_std)
        n_off = dim * (dim - 1) // 2
        self.offdiag = nn.Parameter(torch.zeros(groups, n_gaussians, n_off)) if covariance == "full" else None

    @property
    def n_total(self) -> int:
        return self.means.shape[0] * self.means.shape[1]

    def precision(self) -> torch.Tensor:
        """``P = L L^T`` per Gaussian, ``(groups, N, d, d)``; ``L`` has ``1/sigma`` on its
        diagonal (and trainable entries below it for ``full``)."""
        sigma = self.sigma if self.sigma_param == "raw" else \
            self.sigma_min + (self.sigma0 - self.sigma_min) * nn.functional.softplus(self.sigma / self.sigma0)
        L = torch.diag_embed(1.0 / sigma)
        if self.offdiag is not None:
            i, j = torch.tril_indices(self.dim, self.dim, offset=-1)
            lower = torch.zeros_like(L)
            lower[..., i, j] = self.offdiag
            L = L + lower
        return L @ L.transpose(-1, -2)

    def _tables(self, order: int, pairs: Sequence[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Coefficient tables over the monomials: the exponent ``q`` ``(G, N, M)`` and the
        value/derivative factors ``(G, N, J, M)`` for J = 1 (+ d) (+ len(pairs))."""
        d = self.dim
        P = self.precision()
        mu = self.means
        m = torch.einsum("gnab,gnb->gna", P, mu)  # P mu
        ia, ib = torch.triu_indices(d, d)
        ia, ib = ia.to(mu.device), ib.to(mu.device)
        cross = torch.where(ia == ib, 1.0, 2.0).to(P.dtype)
        q = torch.cat([(mu * m).sum(-1, keepdim=True), -2 * m, P[..., ia, ib] * cross], dim=-1)
        G, N = mu.shape[:2]
        zeros = torch.zeros(G, N, d * (d + 1) // 2, dtype=P.dtype, device=P.device)
        rows = [torch.cat([torch.ones(G, N, 1, dtype=P.dtype, device=P.device),
                           torch.zeros(G, N, d, dtype=P.dtype, device=P.device), zeros], -1)]
        if order >= 1:
            for a in range(d):  # dG/dx_a = G (m_a - sum_b P_ab x_b)
                rows.append(torch.cat([m[..., a:a + 1], -P[..., a, :], zeros], -1))
        if order >= 2:
            for (a, b) in pairs:
                const = m[..., a] * m[..., b] - P[..., a, b]
                lin = -(P[..., a, :] * m[..., b:b + 1] + P[..., b, :] * m[..., a:a + 1])
                quad = P[..., a, ia] * P[..., b, ib] + torch.where(ia == ib, 0.0, 1.0).to(P.dtype) \
                    * P[..., a, ib] * P[..., b, ia]
                rows.append(torch.cat([const[..., None], lin, quad], -1))
        return q, torch.stack(rows, dim=2)

    def gaussians(self, x: torch.Tensor, mono: torch.Tensor, q_table: torch.Tensor) -> torch.Tensor:
        """``G[p, g, n]`` from the monomials and the exponent table (one matrix product).

        The squared Mahalanobis distance is clamped to [0, Q_MAX]: beyond ~9 standard
        deviations a Gaussian is held at exp(-40) ~ 4e-18 with zero gradient. This changes
        nothing measurable and keeps ``exp`` out of the denormal range, which on CPUs is
        more than ten times slower.
        """
        G, N, M = q_table.shape
        q = mono @ q_table.reshape(G * N, M).T
        return torch.exp(-0.5 * q.clamp(0.0, Q_MAX)).reshape(len(x), G, N)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mono = _monomials(x)
        q, _ = self._tables(0, ())
        g = self.gaussians(x, mono, q)
        return torch.einsum("pgn,gnc->pgc", g, self.weights).reshape(len(x), self.channels)

    def jet(self, x: torch.Tensor, order: int, pairs: Sequence[tuple[int, int]]) -> ExplicitJet:
        """Features ``(P, k)`` with first ``(P, k, d)`` and second ``{pair: (P, k)}`` derivatives."""
        mono = _monomials(x)
        q, table = self._tables(order, pairs)
        g = self.gaussians(x, mono, q)
        G, N, J, M = table.shape
        C = self.weights.shape[-1]
        coef = (self.weights[:, :, :, None, None] * table[:, :, None]).reshape(G, N, C * J * M)
        sums = torch.einsum("pgn,gnx->pgx", g, coef).reshape(len(x), G, C, J, M)
        out = torch.einsum("pgcjm,pm->pgcj", sums, mono).reshape(len(x), self.channels, J)
        first = out[:, :, 1:1 + self.dim] if order >= 1 else None
        second = {pair: out[:, :, 1 + self.dim + i] for i, pair in enumerate(pairs)} if order >= 2 else {}
        return ExplicitJet(out[:, :, 0], first, second)


class PIGNet(Field):
    """``u(x) = head(FE(normalise(x)))`` with analytic jets."""

    def __init__(self, lo: Sequence[float], hi: Sequence[float], n_out: int, cfg: PIGConfig,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.normalize = Normalize(lo, hi)
        self.embedding = GaussianEmbedding(len(lo), cfg.n_gaussians, cfg.channels, cfg.form, cfg.covariance,
                                           cfg.sigma0, cfg.sigma_param, cfg.weight_std, cfg.learn_means,
                                           generator, width_floor(cfg, len(lo)))
        self.head: MLP | None = None
        self.act, self.omega = "tanh", 1.0
        if cfg.head == "none":
            if cfg.channels != n_out:
                raise ProblemError(f"head = 'none' needs channels = {n_out} (the solution's components)")
        else:
            self.act = "tanh" if cfg.head == "mlp" else "sin"
            self.head = MLP([cfg.channels, cfg.hidden, n_out], self.act, init="glorot", omega=cfg.siren_omega)
            self.omega = self.head.omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embedding(self.normalize(x))
        return self.head(z) if self.head is not None else z

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        s = self.normalize.scale
        emb = self.embedding.jet(self.normalize(x), order, pairs)
        if self.head is not None and order >= 1:
            emb = mlp_jet(self.head.linears, self.act, self.omega, emb.value, emb.first, emb.second)
        elif self.head is not None:
            emb = ExplicitJet(self.head(emb.value))
        first = emb.first * s if emb.first is not None else None
        second = {(a, b): v * (s[a] * s[b]) for (a, b), v in emb.second.items()}
        return ExplicitJet(emb.value, first, second)


@register
class PIGSolver(PhysicsInformedSolver):
    """Physics-Informed Gaussians (Kang et al., ICLR 2025)."""

    name: ClassVar[str] = "pig"
    needs: ClassVar[frozenset[str]] = frozenset({"residual"})
    description: ClassVar[str] = "Physics-Informed Gaussians: trainable Gaussian features + tiny MLP (Kang et al. 2025)"
    config_class: ClassVar[type] = PIGConfig

    def build(self, problem: Problem, cfg: PIGConfig) -> PIGNet:
        lo, hi = input_box(problem)
        gen = torch.Generator().manual_seed(torch.initial_seed() % 2**63)
        return PIGNet(lo, hi, n_outputs(problem, cfg, self.name), cfg, gen)

    def describe(self, model: PIGNet, cfg: PIGConfig) -> dict[str, Any]:
        return {"gaussians": model.embedding.n_total, "form": cfg.form, "covariance": cfg.covariance,
                "sigma_min": f"{model.embedding.sigma_min:.3g}" + (" (auto)" if cfg.sigma_min == "auto" else "")}
