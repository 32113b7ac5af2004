"""Network building blocks: activations, MLPs with Glorot or SIREN initialisation, Fourier
features and the affine input normalisation every field network starts with.

References
----------
Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks"
(AISTATS 2010); Sitzmann et al., "Implicit Neural Representations with Periodic Activation
Functions" (NeurIPS 2020) for SIREN; Tancik et al., "Fourier Features Let Networks Learn High
Frequency Functions in Low Dimensional Domains" (NeurIPS 2020).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from ..errors import ProblemError

ACTIVATIONS = ("tanh", "sin", "gelu", "relu", "silu")


class Sine(nn.Module):
    """``sin(omega * x)``, the SIREN activation."""

    def __init__(self, omega: float = 1.0):
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


def activation(name: str, omega: float = 1.0) -> nn.Module:
    """The activation module called ``name`` (one of :data:`ACTIVATIONS`)."""
    table: dict[str, Callable[[], nn.Module]] = {
        "tanh": nn.Tanh, "gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU, "sin": lambda: Sine(omega)}
    if name not in table:
        raise ProblemError(f"unknown activation {name!r} (choose from {', '.join(ACTIVATIONS)})")
    return table[name]()


def valid_widths(widths: object) -> bool:
    """Whether ``widths`` is a non-empty list of positive integers (hidden-layer widths)."""
    return (isinstance(widths, (list, tuple)) and len(widths) > 0
            and all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths))


class MLP(nn.Module):
    """Fully connected network ``in -> hidden... -> out``.

    Parameters
    ----------
    sizes
        Layer widths including input and output, e.g. ``(2, 50, 50, 50, 50, 1)``.
    activation
        ``tanh``, ``sin``, ``gelu``, ``relu`` or ``silu`` between layers (none after the last).
    init
        ``glorot`` (Xavier-normal weights, zero biases, as DeepXDE) or ``siren`` (uniform
        ``±1/n`` in the first layer and ``±sqrt(6/n)/omega`` after it, Sitzmann et al. 2020).
    omega
        SIREN frequency ``omega_0`` applied inside every sine (30 in the SIREN paper).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", init: str = "glorot",
                 omega: float = 30.0):
        super().__init__()
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ProblemError(f"MLP sizes must be at least two positive widths, got {list(sizes)}")
        if init not in ("glorot", "siren"):
            raise ProblemError(f"unknown initialisation {init!r} (glorot or siren)")
        self.sizes = tuple(int(s) for s in sizes)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        self.activation_name = activation
        self.omega = omega if activation == "sin" else 1.0
        self.act = globals()["activation"](activation, self.omega)
        self.reset_parameters(init)

    def reset_parameters(self, init: str = "glorot") -> None:
        with torch.no_grad():
            for i, lin in enumerate(self.linears):
                fan_in = lin.in_features
                if init == "siren":
                    bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / self.omega
                    lin.weight.uniform_(-bound, bound)
                    lin.bias.uniform_(-bound, bound)
                else:
                    nn.init.xavier_normal_(lin.weight)
                    lin.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin in self.linears[:-1]:
            x = self.act(lin(x))
        return self.linears[-1](x)


class FourierFeatures(nn.Module):
    """Fourier-feature embedding ``x -> [cos(2 pi B x), sin(2 pi B x)]`` (Tancik et al. 2020).

    Parameters
    ----------
    in_dim
        Input dimension.
    n_features
        Number of frequencies (the output has ``2 * n_features`` columns).
    scale
        Standard deviation of the Gaussian frequency matrix ``B``.
    trainable
        Whether ``B`` is trained.
    generator
        Random generator for ``B`` (reproducible embeddings).
    """

    def __init__(self, in_dim: int, n_features: int, scale: float = 1.0, trainable: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        B = torch.randn(n_features, in_dim, generator=generator) * scale
        if trainable:
            self.B = nn.Parameter(B)
        else:
            self.register_buffer("B", B)

    @property
    def out_dim(self) -> int:
        return 2 * self.B.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * math.pi * x @ self.B.T
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


class Normalize(nn.Module):
    """Affine map of the box ``[lo, hi]`` onto ``[-1, 1]`` per input column.

    ``scale`` (``2 / (hi - lo)``) is the factor every input derivative picks up.
    """

    def __init__(self, lo: Sequence[float], hi: Sequence[float]):
        super().__init__()
        lo_t = torch.as_tensor(lo, dtype=torch.get_default_dtype())
        hi_t = torch.as_tensor(hi, dtype=torch.get_default_dtype())
        if torch.any(hi_t <= lo_t):
            raise ProblemError(f"normalisation box must have hi > lo, got {lo} .. {hi}")
        self.register_buffer("center", (lo_t + hi_t) / 2)
        self.register_buffer("scale", 2.0 / (hi_t - lo_t))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center) * self.scale


class PeriodicEncoding(nn.Module):
    """``(x, t) -> (cos theta, sin theta, tau)`` with ``theta = 2 pi (x - a) / L`` and ``tau``
    the time mapped onto [-1, 1]: any network of these features is exactly ``L``-periodic in
    ``x`` (the "POLAR" input of Mojgani et al. 2023).

    Parameters
    ----------
    a, length
        Start and length of the period in ``x``.
    t0, duration
        Time span.
    """

    def __init__(self, a: float, length: float, t0: float, duration: float):
        super().__init__()
        if not (length > 0 and duration > 0):
            raise ProblemError(f"periodic encoding needs a positive period and duration, got "
                               f"{length} and {duration}")
        self.a, self.k = float(a), 2 * math.pi / float(length)
        self.t0, self.kt = float(t0), 2.0 / float(duration)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        theta = self.k * (x - self.a)
        return torch.stack([torch.cos(theta), torch.sin(theta), self.kt * (t - self.t0) - 1], dim=1)

    def jet(self, x: torch.Tensor, t: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, dict[tuple[int, int], torch.Tensor]]:
        """Features ``(P, 3)``, their derivatives in ``(x, t)`` ``(P, 3, 2)`` and the second
        derivative in ``x`` ``{(0, 0): (P, 3)}`` (for :func:`sciml.nn.jet.mlp_jet`)."""
        theta = self.k * (x - self.a)
        c, s = torch.cos(theta), torch.sin(theta)
        zero = torch.zeros_like(x)
        value = torch.stack([c, s, self.kt * (t - self.t0) - 1], dim=1)
        d_x = torch.stack([-self.k * s, self.k * c, zero], dim=1)
        d_t = torch.stack([zero, zero, zero + self.kt], dim=1)
        dd_x = torch.stack([-self.k ** 2 * c, -self.k ** 2 * s, zero], dim=1)
        return value, torch.stack([d_x, d_t], dim=2), {(0, 0): dd_x}
