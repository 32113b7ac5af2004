"""Autograd differential operators on batches of points.

``u`` is a network output computed from ``x`` (``x.requires_grad`` set before the forward
pass): a scalar field ``(P,)``/``(P, 1)`` or a vector field ``(P, c)``. Derivatives are taken
with ``create_graph=True`` so the results can enter a loss. For several operators on the same
field, use one :class:`~sciml.nn.jet.AutogradJet`, which computes each derivative once.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .jet import AutogradJet


def _squeeze(out: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return out[:, 0] if (u.ndim == 1 or u.shape[1] == 1) else out


def gradient(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``grad u``: ``(P, D)`` for a scalar field, ``(P, c, D)`` (the Jacobian) for a vector one."""
    jet = AutogradJet(u, x)
    return _squeeze(jet.grad(range(x.shape[1])), jet.value)


def divergence(v: torch.Tensor, x: torch.Tensor, dims: Sequence[int] | None = None) -> torch.Tensor:
    """``div v = sum_i dv_i/dx_i`` over ``dims`` (default the first ``c`` columns) ``(P,)``."""
    jet = AutogradJet(v, x)
    dims = list(range(v.shape[1])) if dims is None else list(dims)
    if len(dims) != v.shape[1]:
        raise ValueError(f"divergence needs one input column per component, got {dims} for {v.shape[1]}")
    return sum(jet.d(i)[:, k] for k, i in enumerate(dims))  # type: ignore[return-value]


def laplacian(u: torch.Tensor, x: torch.Tensor, dims: Sequence[int] | None = None) -> torch.Tensor:
    """``sum_i d^2 u/dx_i^2`` over ``dims`` (default all columns), per component."""
    jet = AutogradJet(u, x)
    dims = range(x.shape[1]) if dims is None else dims
    return _squeeze(jet.laplacian(dims), jet.value)


def hessian(u: torch.Tensor, x: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """The Hessian entry ``d^2 u/dx_i dx_j``, per component."""
    jet = AutogradJet(u, x)
    return _squeeze(jet.dd(i, j), jet.value)
