"""Boundary-condition kinds, one module each, found by a registry (like :mod:`sciml.pdes`).

>>> from sciml import bcs
>>> list(bcs.available())
['cauchy', 'dirichlet', 'natural', 'neumann', 'periodic', 'robin', 'slip']

A new kind is one module of this package (its keys, how they are read, and its loss terms),
its test and its row in docs/problem-files.md. The SciPy references still read the kinds they
support by name.
"""

from __future__ import annotations

import pkgutil
from typing import TypeVar

from ..errors import ProblemError
from .base import BoundaryKind, Entry, ReadContext

T = TypeVar("T", bound=BoundaryKind)
_REGISTRY: dict[str, BoundaryKind] = {}
BUILTIN = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"))


def register(kind: T) -> T:
    """Add a boundary-condition kind under its ``name``."""
    _REGISTRY[kind.name] = kind
    return kind


def available() -> dict[str, BoundaryKind]:
    """Registered kinds by name, the built-in ones first."""
    import importlib

    for name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
    return {name: _REGISTRY[name] for name in [*BUILTIN, *(n for n in _REGISTRY if n not in BUILTIN)]}


def get(name: str) -> BoundaryKind:
    """The kind registered as ``name``; an unknown name raises :class:`ProblemError`."""
    kinds = available()
    if name not in kinds:
        raise ProblemError(f"unknown boundary condition kind {name!r} (kinds: {', '.join(kinds)})")
    return kinds[name]


__all__ = ["BoundaryKind", "Entry", "ReadContext", "available", "get", "register"]
