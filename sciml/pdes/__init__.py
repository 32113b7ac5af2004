"""PDE types, one module each, found by a registry.

>>> from sciml import pdes
>>> pdes.get("poisson").equation
'-div(k grad u) = f'
>>> sorted(pdes.get("burgers").traits)
['dim1', 'nonlinear', 'reference', 'residual', 'scalar', 'space', 'transient', 'transport']

A new built-in type is one module of this package, found without any list to edit: subclass
:class:`PDEType`, set its coefficients, dimensions and time dependence, write its residual, and
register an instance with :func:`register` (docs/pdes.md).
"""

from __future__ import annotations

from ..registry import Registry
from .base import Coef, Constraint, PDEType, ScalarForm, coef

REGISTRY: Registry[PDEType] = Registry(__name__, "PDE type")
BUILTIN = REGISTRY.builtin
register, available, get = REGISTRY.register, REGISTRY.available, REGISTRY.get

__all__ = ["Coef", "Constraint", "PDEType", "ScalarForm", "available", "coef", "get", "register"]
