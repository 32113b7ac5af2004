"""Networks whose weights are data: the target network a hypernetwork emits.

:class:`ModifiedMLP` is HyPINO's target network (Bischof et al., 2025, the authors'
``ModulationMFNN``): fixed Fourier features ``[sin(2 pi f x_d), cos(2 pi f x_d), x_d]`` with
``f = 0.1 * 2^k`` into the modified (gated) MLP of Wang, Teng & Perdikaris (SIAM J. Sci. Comput.
2021): ``U = tanh(W_U z + b_U)``, ``V = tanh(W_V z + b_V)``, ``H = tanh(W_0 z + b_0)``, then
``layers`` times ``H <- U H + V (1 - H)``, ``H <- tanh(W_i H + b_i)``, and ``W_out H + b_out``.
Its parameters are one flat vector per network, so a batch of networks (one per problem) runs
in one batched matrix product, and gradients flow back into whatever produced the vector.
:class:`GeneratedField` wraps one vector as a :class:`~sciml.nn.jet.Field`, so the shared
physics core computes its residual (and fine-tuning trains it).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .jet import Field


class ModifiedMLP:
    """The parameter layout and batched forward pass of HyPINO's target network.

    Parameters
    ----------
    in_dim, out_dim
        Input coordinates and outputs.
    width, layers
        Hidden width and the number of gated hidden layers (the paper: 32 and 3, 5,409
        parameters for 2D input).
    freqs
        Fourier feature frequencies (default ``0.1 * 2^k``, ``k = 0..4``).
    """

    def __init__(self, in_dim: int = 2, out_dim: int = 1, width: int = 32, layers: int = 3,
                 freqs: Sequence[float] = tuple(0.1 * 2**k for k in range(5))):
        if min(in_dim, out_dim, width, layers) < 1 or not freqs:
            raise ValueError("in_dim, out_dim, width, layers >= 1 and at least one frequency")
        self.in_dim, self.out_dim, self.width, self.layers = in_dim, out_dim, width, layers
        self.freqs = tuple(float(f) for f in freqs)
        feat = in_dim * (2 * len(self.freqs) + 1)
        self.shapes: list[tuple[str, tuple[int, ...]]] = []
        for name in ("U", "V", "H0"):
            self.shapes += [(f"W_{name}", (feat, width)), (f"b_{name}", (width,))]
        for i in range(1, layers + 1):
            self.shapes += [(f"W_{i}", (width, width)), (f"b_{i}", (width,))]
        self.shapes += [("W_out", (width, out_dim)), ("b_out", (out_dim,))]

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for _, s in self.shapes)

    @property
    def n_features(self) -> int:
        return self.in_dim * (2 * len(self.freqs) + 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``[sin(2 pi f x_d), cos(2 pi f x_d)]`` for every frequency and coordinate, then ``x``."""
        f = torch.as_tensor(self.freqs, dtype=x.dtype, device=x.device)
        angles = 2 * math.pi * x[..., :, None] * f  # (..., d, F)
        return torch.cat([torch.sin(angles).flatten(-2), torch.cos(angles).flatten(-2), x], dim=-1)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split ``(B, P)`` vectors into named tensors ``(B, *shape)``."""
        if flat.shape[-1] != self.n_params:
            raise ValueError(f"expected {self.n_params} parameters per network, got {flat.shape[-1]}")
        out, start = {}, 0
        for name, shape in self.shapes:
            size = math.prod(shape)
            out[name] = flat[..., start:start + size].reshape(*flat.shape[:-1], *shape)
            start += size
        return out

    def __call__(self, x: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        """Outputs ``(B, N, out_dim)`` of ``B`` networks ``flat`` ``(B, P)`` at points ``x``
        ``(N, d)`` (shared) or ``(B, N, d)``."""
        p = self.unflatten(flat)
        z = self.features(x)
        if z.ndim == 2:
            z = z.expand(flat.shape[0], *z.shape)

        def dense(h: torch.Tensor, name: str) -> torch.Tensor:
            return torch.baddbmm(p[f"b_{name}"][:, None, :], h, p[f"W_{name}"])

        u, v, h = torch.tanh(dense(z, "U")), torch.tanh(dense(z, "V")), torch.tanh(dense(z, "H0"))
        for i in range(1, self.layers + 1):
            h = u * h + v * (1 - h)
            h = torch.tanh(dense(h, str(i)))
        return dense(h, "out")

    def init_flat(self, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One randomly initialised network (Glorot-normal weights, zero biases), the
        random-initialisation baseline of fine-tuning."""
        parts = []
        for name, shape in self.shapes:
            if name.startswith("W_"):
                std = math.sqrt(2.0 / (shape[0] + shape[1]))
                parts.append(torch.randn(shape, generator=generator, dtype=dtype).flatten() * std)
            else:
                parts.append(torch.zeros(math.prod(shape), dtype=dtype))
        return torch.cat(parts)


class GeneratedField(Field):
    """One target network as a :class:`~sciml.nn.jet.Field` ``u(x)`` ``(N, d) -> (N, out)``.
    Its vector is a trainable parameter (fine-tuning) unless ``trainable`` is false."""

    def __init__(self, spec: ModifiedMLP, flat: torch.Tensor, trainable: bool = True):
        super().__init__()
        self.spec = spec
        data = flat.detach().clone().reshape(-1)
        if trainable:
            self.flat = nn.Parameter(data)
        else:
            self.register_buffer("flat", data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spec(x, self.flat[None])[0]
