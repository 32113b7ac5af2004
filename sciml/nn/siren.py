"""A SIREN field with forward-mode derivatives.

Sitzmann, Martel, Bergman, Lindell & Wetzstein, "Implicit Neural Representations with Periodic
Activation Functions" (NeurIPS 2020): ``u(x) = W_L sin(omega (... sin(omega (W_0 x + b_0)) ...))
+ b_L`` with ``omega = 30`` and the initialisation of :class:`~sciml.nn.layers.MLP`
(``init = "siren"``). Inputs are first mapped onto ``[-1, 1]`` (the box the SIREN
initialisation assumes). The jet is pushed forward through the layers by
:func:`~sciml.nn.jet.mlp_jet`, so a residual built from it needs first-order autograd only.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .jet import ExplicitJet, Field, Jet, mlp_jet
from .layers import MLP, Normalize


class Siren(Field):
    """SIREN on the box ``[lo, hi]``.

    Parameters
    ----------
    lo, hi
        Bounds of the input box (mapped onto ``[-1, 1]``).
    n_out
        Output components.
    widths
        Hidden widths, e.g. ``[20, 20]``.
    omega
        ``omega_0`` inside every sine.
    """

    def __init__(self, lo: Sequence[float], hi: Sequence[float], n_out: int, widths: Sequence[int],
                 omega: float = 30.0):
        super().__init__()
        self.normalize = Normalize(lo, hi)
        self.mlp = MLP([len(lo), *widths, n_out], "sin", init="siren", omega=omega)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.normalize(x))

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        z = self.normalize(x)
        if order == 0:
            return ExplicitJet(self.mlp(z))
        n, dim = z.shape
        first = torch.diag_embed(self.normalize.scale.to(z)).expand(n, dim, dim)
        keys = {(min(i, j), max(i, j)) for i, j in pairs} if order >= 2 else set()
        second = {key: torch.zeros_like(z) for key in keys}
        return mlp_jet(self.mlp.linears, "sin", self.mlp.omega, z, first, second)
