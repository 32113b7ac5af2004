"""The ``[pde]`` of a loaded problem: its type (a module of :mod:`sciml.pdes`) and its parsed
coefficients. Equations, sign conventions and Neumann data of each type are documented in its
module and in docs/problem-files.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import pdes
from .expr import Expr


class _Specs(Mapping[str, Any]):
    """The registered PDE types by name (read when looked at, so plugins registered later are
    included)."""

    def __getitem__(self, name: str) -> Any:
        return pdes.available()[name]

    def __iter__(self) -> Any:
        return iter(pdes.available())

    def __len__(self) -> int:
        return len(pdes.available())


#: registered PDE types by name
SPECS: Mapping[str, Any] = _Specs()


@dataclass(frozen=True)
class PDE:
    """A PDE type with its parsed coefficients (``pde.k``, ``pde.b``…).

    Scalars are :class:`Expr`, vectors tuples of :class:`Expr`, choices strings, ``ode``
    variables a tuple of names and ``rhs`` a tuple of :class:`Expr`.
    """

    type: str
    coefs: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        coefs = object.__getattribute__(self, "coefs")
        if name in coefs:
            return coefs[name]
        raise AttributeError(f"{self.type} has no coefficient {name!r}")

    @property
    def spec(self) -> pdes.PDEType:
        """The PDE type's module object (:class:`sciml.pdes.PDEType`)."""
        return pdes.get(self.type)

    def fields(self, dim: int) -> tuple[str, ...]:
        """Names of the solution's components."""
        return self.spec.fields(self.coefs, dim)

    @property
    def reaction(self) -> Expr | None:
        """The nonlinear reaction ``r(u)`` of a convection-diffusion problem, None when absent."""
        from ..pdes.convection_diffusion import reaction

        return reaction(self.coefs)

    def lame(self) -> tuple[Expr, Expr]:
        """Elasticity: the effective (lambda, mu) in the plane model as expressions."""
        from ..pdes.elasticity import lame

        return lame(self.coefs)
