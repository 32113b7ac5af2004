"""Values and input derivatives of a network at a batch of points (a "jet").

Physics residuals read derivatives through a :class:`Jet`, never through autograd directly, so
one residual serves every network: :class:`AutogradJet` differentiates any ``nn.Module`` with
reverse-mode autograd (each derivative computed once and cached), :class:`ExplicitJet` holds
derivatives a model computed in closed form (Physics-Informed Gaussians) or by forward-mode
propagation (:func:`mlp_jet`).

Input columns are the space coordinates followed by ``t`` for time-dependent problems; ``d(i)``
and ``dd(i, j)`` index those columns.
"""

from __future__ import annotations

from typing import Callable, Collection, Iterable, Sequence

import torch
from torch import nn


class Jet:
    """Interface: ``value`` ``(P, c)``, ``d(i)`` and ``dd(i, j)`` ``(P, c)``."""

    value: torch.Tensor

    def d(self, i: int) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def dd(self, i: int, j: int) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def grad(self, dims: Iterable[int]) -> torch.Tensor:
        """First derivatives along ``dims`` stacked as ``(P, c, len(dims))``."""
        return torch.stack([self.d(i) for i in dims], dim=-1)

    def laplacian(self, dims: Iterable[int]) -> torch.Tensor:
        """Sum of the second derivatives along ``dims`` ``(P, c)``."""
        return sum(self.dd(i, i) for i in dims)  # type: ignore[return-value]

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        """The derivative along the input columns ``axes`` (one entry per differentiation, any
        order) ``(P, c)``; this jet gives orders 1 and 2."""
        if len(axes) == 1:
            return self.d(axes[0])
        if len(axes) == 2:
            return self.dd(axes[0], axes[1])
        from ..errors import ProblemError

        raise ProblemError(f"this model gives derivatives up to second order, not of order {len(axes)}: "
                           "use a solver whose network is differentiated by autograd (pinn)")


class AutogradJet(Jet):
    """Derivatives of ``model(x)`` by reverse-mode autograd, each computed once.

    ``x`` must require grad and ``value`` must have been computed from it. First derivatives of
    component ``c`` come from one backward pass (all columns at once); second derivatives
    ``dd(i, j)`` from one more pass over ``d(i)``, which also yields every ``dd(i, *)``.
    """

    def __init__(self, value: torch.Tensor, x: torch.Tensor):
        if value.ndim == 1:
            value = value[:, None]
        self.value, self.x = value, x
        self._first: dict[int, torch.Tensor] = {}
        self._rows: dict[tuple[int, int], torch.Tensor] = {}
        self._grads: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}  # full gradients of higher partials

    @classmethod
    def of(cls, model: nn.Module, x: torch.Tensor) -> "AutogradJet":
        """Evaluate ``model`` at ``x`` (made differentiable) and wrap the result."""
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        return cls(model(x), x)

    def _derivative(self, y: torch.Tensor) -> torch.Tensor:
        """``d(sum y)/dx``; zero where ``y`` does not depend on ``x`` (a linear field's slope)."""
        if not y.requires_grad:
            return torch.zeros_like(self.x)
        (g,) = torch.autograd.grad(y.sum(), self.x, create_graph=True, allow_unused=True)
        return torch.zeros_like(self.x) if g is None else g

    def _full_grad(self, c: int) -> torch.Tensor:
        if c not in self._first:
            self._first[c] = self._derivative(self.value[:, c])
        return self._first[c]

    def _hessian_row(self, c: int, i: int) -> torch.Tensor:
        if (c, i) not in self._rows:
            self._rows[(c, i)] = self._derivative(self._full_grad(c)[:, i])
        return self._rows[(c, i)]

    def d(self, i: int) -> torch.Tensor:
        return torch.stack([self._full_grad(c)[:, i] for c in range(self.value.shape[1])], dim=1)

    def dd(self, i: int, j: int) -> torch.Tensor:
        cols = []
        for c in range(self.value.shape[1]):
            row, col = (j, i) if (c, j) in self._rows else (i, j)
            cols.append(self._hessian_row(c, row)[:, col])
        return torch.stack(cols, dim=1)

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        """Any order: each partial's full gradient is computed once and cached."""
        axes = tuple(sorted(axes))
        if len(axes) <= 2:
            return super().derivative(axes)
        return torch.stack([self._gradient_of(c, axes[:-1])[:, axes[-1]] for c in range(self.value.shape[1])], dim=1)

    def _gradient_of(self, c: int, axes: tuple[int, ...]) -> torch.Tensor:
        """Full gradient of the partial of component ``c`` along ``axes`` (order >= 2)."""
        if len(axes) == 2:
            return self._derivative(self._hessian_row(c, axes[0])[:, axes[1]])
        if (c, axes) not in self._grads:
            self._grads[(c, axes)] = self._derivative(self._gradient_of(c, axes[:-1])[:, axes[-1]])
        return self._grads[(c, axes)]


class ExplicitJet(Jet):
    """Derivatives given as tensors: ``first`` ``(P, c, D)`` and ``second`` ``{(i, j): (P, c)}``
    with ``i <= j``."""

    def __init__(self, value: torch.Tensor, first: torch.Tensor | None = None,
                 second: dict[tuple[int, int], torch.Tensor] | None = None):
        self.value, self.first, self.second = value, first, second or {}

    def d(self, i: int) -> torch.Tensor:
        if self.first is None:
            raise RuntimeError("this jet was computed without first derivatives")
        return self.first[:, :, i]

    def dd(self, i: int, j: int) -> torch.Tensor:
        key = (min(i, j), max(i, j))
        if key not in self.second:
            raise RuntimeError(f"this jet was computed without the second derivative {key}")
        return self.second[key]


def _act_derivatives(name: str, z: torch.Tensor, omega: float) -> tuple[torch.Tensor, ...]:
    """Activation value and its first two derivatives at ``z``."""
    if name == "tanh":
        a = torch.tanh(z)
        d1 = 1 - a * a
        return a, d1, -2 * a * d1
    if name == "sin":
        s, c = torch.sin(omega * z), torch.cos(omega * z)
        return s, omega * c, -omega * omega * s
    raise NotImplementedError(f"forward-mode jets support tanh and sin activations, not {name!r}")


def mlp_jet(linears: Sequence[nn.Linear], act: str, omega: float, value: torch.Tensor,
            first: torch.Tensor, second: dict[tuple[int, int], torch.Tensor]) -> ExplicitJet:
    """Push a jet of the input features through an MLP by forward-mode differentiation.

    Parameters
    ----------
    linears
        The MLP's layers; ``act`` is applied between them.
    value, first, second
        Features ``(P, n)``, their input derivatives ``(P, n, D)`` and the needed second
        derivatives ``{(i, j): (P, n)}``.

    Only first-order autograd (with respect to the weights) is needed afterwards, which is what
    makes closed-form embeddings such as Physics-Informed Gaussians cheap to train.
    """
    for k, lin in enumerate(linears):
        W = lin.weight
        z = lin(value)
        zf = torch.einsum("pnd,mn->pmd", first, W)
        zs = {key: s @ W.T for key, s in second.items()}
        if k == len(linears) - 1:
            return ExplicitJet(z, zf, zs)
        a, d1, d2 = _act_derivatives(act, z, omega)
        second = {(i, j): d2 * zf[:, :, i] * zf[:, :, j] + d1 * zs[(i, j)] for (i, j) in zs}
        value, first = a, d1[:, :, None] * zf
    raise ValueError("an MLP needs at least one layer")


class Field(nn.Module):
    """A network ``u(x)`` whose jet comes from autograd; closed-form models override
    :meth:`jet`."""

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        """Values (``order`` 0) or values and derivatives (``order`` 1, 2; ``pairs`` lists the
        second derivatives the caller will read) at points ``x``."""
        if order == 0:
            out = self(x)
            return ExplicitJet(out if out.ndim == 2 else out[:, None])
        return AutogradJet.of(self, x)


class ScaledJet(Jet):
    """The jet of ``scale * u + shift``."""

    def __init__(self, inner: Jet, scale: float, shift: torch.Tensor | None = None):
        self.inner, self.scale = inner, scale
        self.value = inner.value * scale if shift is None else inner.value * scale + shift

    def d(self, i: int) -> torch.Tensor:
        return self.inner.d(i) * self.scale

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self.inner.dd(i, j) * self.scale

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        return self.inner.derivative(axes) * self.scale


class PartJet(Jet):
    """A view of ``inner`` that records which of its entries are read (``()`` the value,
    ``(i,)`` a first derivative, sorted axes for higher ones) in ``read`` and returns zeros for
    those in ``drop`` (``None``: all of them, the zero field's jet). Evaluating a residual on
    such views splits it into its terms' sizes (:func:`sciml.nn.fit._residual_check`)."""

    def __init__(self, inner: Jet, drop: Collection[tuple[int, ...]] | None = ()):
        self.inner, self.drop = inner, drop
        self.read: set[tuple[int, ...]] = set()

    def _entry(self, key: tuple[int, ...], get: Callable[[], torch.Tensor]) -> torch.Tensor:
        self.read.add(key)
        out = get()
        return torch.zeros_like(out) if self.drop is None or key in self.drop else out

    @property
    def value(self) -> torch.Tensor:  # type: ignore[override]
        return self._entry((), lambda: self.inner.value)

    def d(self, i: int) -> torch.Tensor:
        return self._entry((i,), lambda: self.inner.d(i))

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self._entry(tuple(sorted((i, j))), lambda: self.inner.dd(i, j))

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        if len(axes) <= 2:
            return super().derivative(axes)
        return self._entry(tuple(sorted(axes)), lambda: self.inner.derivative(axes))


class Scaled(Field):
    """``scale * field(x) + shift``: lets a network learn O(1) values when the solution is not
    O(1) (elasticity displacements of order load / stiffness, say) or sits on a large offset
    (a wave on a mean flow). ``shift``: one value per output component, a buffer, not trained."""

    def __init__(self, field: Field, scale: float, shift: Sequence[float] | None = None):
        super().__init__()
        self.field, self.scale = field, float(scale)
        self.shift: torch.Tensor | None
        self.register_buffer("shift", None if shift is None else torch.as_tensor(shift, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.field(x) * self.scale
        return out if self.shift is None else out + self.shift

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        return ScaledJet(self.field.jet(x, order, pairs), self.scale, self.shift)
