"""PDE types, one module each, found by a registry.

>>> from sciml import pdes
>>> pdes.get("poisson").equation
'-div(k grad u) = f'
>>> sorted(pdes.get("burgers").traits)
['dim1', 'nonlinear', 'reference', 'residual', 'scalar', 'transient']

A new built-in type is one module of this package, found without any list to edit: subclass
:class:`PDEType`, set its coefficients, dimensions and time dependence, write its residual, and
register an instance with :func:`register` (docs/pdes.md).
"""

from __future__ import annotations

import pkgutil
from typing import TypeVar

from ..errors import ProblemError
from .base import Coef, Constraint, PDEType, ScalarForm, coef

T = TypeVar("T", bound=PDEType)
_REGISTRY: dict[str, PDEType] = {}
#: the built-in types: every module of this package but ``base`` (a new type is one new module)
BUILTIN = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"))


def register(kind: T) -> T:
    """Add a PDE type (an instance of a :class:`PDEType` subclass) under its ``name``."""
    _REGISTRY[kind.name] = kind
    return kind


def available() -> dict[str, PDEType]:
    """Registered PDE types by name, the built-in ones first."""
    _load_builtin()
    order = [*BUILTIN, *(name for name in _REGISTRY if name not in BUILTIN)]
    return {name: _REGISTRY[name] for name in order}


def get(name: str) -> PDEType:
    """The PDE type registered as ``name``; an unknown name raises :class:`ProblemError`."""
    kinds = available()
    if name not in kinds:
        raise ProblemError(f"unknown PDE type {name!r} (types: {', '.join(kinds)})")
    return kinds[name]


def _load_builtin() -> None:
    import importlib

    from ..plugins import load_entry_points

    for name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}")  # each module registers its type on import
    load_entry_points()


__all__ = ["Coef", "Constraint", "PDEType", "ScalarForm", "available", "coef", "get", "register"]
