"""``pinn``: the vanilla physics-informed neural network, the baseline every paper compares to.

Raissi, Perdikaris & Karniadakis, "Physics-informed neural networks: A deep learning framework
for solving forward and inverse problems involving nonlinear partial differential equations",
J. Comput. Phys. 378 (2019). An MLP ``u(x, t)`` is trained so that the PDE residual, the
boundary conditions (soft, as penalty terms) and the initial condition vanish at collocation
points. Defaults follow DeepXDE (Lu et al., SIAM Review 2021): 4 x 50 tanh, Glorot-normal
initialisation, Adam with learning rate 1e-3, then L-BFGS. Inputs are mapped onto [-1, 1]
(the domain's bounding box and the time span). Every PDE type of the problem files is
supported through :mod:`sciml.nn.physics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch

from ..errors import ProblemError
from ..nn.fit import PhysicsConfig, input_box
from ..nn.flux import n_outputs
from ..nn.jet import Field
from ..nn.layers import MLP, FourierFeatures, Normalize, valid_widths
from ..problems import Problem
from .base import PhysicsInformedSolver
from .registry import register


@dataclass
class PINNConfig(PhysicsConfig):
    """Options of ``pinn`` (``[solver.pinn]``); training options from :class:`PhysicsConfig`.

    Attributes
    ----------
    hidden
        Hidden-layer widths (DeepXDE's examples: four layers of 50).
    activation
        ``tanh`` (default), ``sin``, ``gelu``, ``silu`` or ``relu``.
    init
        ``glorot`` or ``siren``.
    fourier_features, fourier_scale
        Optional random Fourier-feature embedding (number of frequencies, their std).
    """

    hidden: list = field(default_factory=lambda: [50, 50, 50, 50])
    activation: Literal["tanh", "sin", "gelu", "silu", "relu"] = "tanh"
    init: Literal["glorot", "siren"] = "glorot"
    fourier_features: int = 0
    fourier_scale: float = 1.0
    adam_steps: int = 10000
    lbfgs_steps: int = 200


class PINNNet(Field):
    """``u(x) = MLP(FF(normalise(x)))`` (the Fourier features optional)."""

    def __init__(self, lo: Any, hi: Any, n_out: int, cfg: PINNConfig):
        super().__init__()
        self.normalize = Normalize(lo, hi)
        width = len(lo)
        self.features = None
        if cfg.fourier_features > 0:
            self.features = FourierFeatures(width, cfg.fourier_features, cfg.fourier_scale)
            width = self.features.out_dim
        self.mlp = MLP([width, *cfg.hidden, n_out], cfg.activation, cfg.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.normalize(x)
        if self.features is not None:
            z = self.features(z)
        return self.mlp(z)


@register
class PINNSolver(PhysicsInformedSolver):
    """MLP PINN with soft boundary terms (Raissi et al. 2019; DeepXDE defaults)."""

    name: ClassVar[str] = "pinn"
    needs: ClassVar[frozenset[str]] = frozenset({"residual"})
    description: ClassVar[str] = "physics-informed MLP, soft boundary terms (Raissi et al. 2019)"
    config_class: ClassVar[type] = PINNConfig

    def build(self, problem: Problem, cfg: PINNConfig) -> PINNNet:
        if not valid_widths(cfg.hidden):
            raise ProblemError(f"expected a list of positive widths, got {cfg.hidden!r}",
                               problem.source, f"solver.{self.name}.hidden")
        lo, hi = input_box(problem)
        return PINNNet(lo, hi, n_outputs(problem, cfg, self.name), cfg)

    def describe(self, model: PINNNet, cfg: PINNConfig) -> dict[str, Any]:
        return {"architecture": f"MLP {list(model.mlp.sizes)} {cfg.activation}"}
