"""Solvers: one module per method, built by name with :func:`get`."""

from .base import Solver, check_supported
from .registry import available, get, get_class, register

__all__ = ["Solver", "check_supported", "available", "get", "get_class", "register"]
