"""Boundary-condition kinds, one module each, found by a registry (like :mod:`sciml.pdes`).

>>> from sciml import bcs
>>> list(bcs.available())
['cauchy', 'dirichlet', 'natural', 'neumann', 'periodic', 'residual', 'robin', 'slip']

A new kind is one module of this package (its keys, how they are read, and its loss terms),
its test and its row in docs/problem-files.md. The SciPy references still read the kinds they
support by name.
"""

from __future__ import annotations

from ..registry import Registry
from .base import BoundaryKind, Entry, ReadContext

REGISTRY: Registry[BoundaryKind] = Registry(__name__, "boundary condition kind")
BUILTIN = REGISTRY.builtin
register, available, get = REGISTRY.register, REGISTRY.available, REGISTRY.get

__all__ = ["BoundaryKind", "Entry", "ReadContext", "available", "get", "register"]
