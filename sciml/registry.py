"""A registry of named objects of one kind (PDE types, boundary-condition kinds): the built-in
ones are the modules of a package, found without a list to edit, and plugins register more."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Generic, TypeVar

from .errors import ProblemError

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects with a ``name``, by name.

    Parameters
    ----------
    package
        The package whose modules (all but ``base``) are the built-in entries; each registers
        itself on import.
    what
        What an entry is, for messages (``"PDE type"``).
    """

    def __init__(self, package: str, what: str):
        self.package, self.what = package, what
        self.items: dict[str, T] = {}
        path = importlib.import_module(package).__path__
        self.builtin = tuple(sorted(m.name for m in pkgutil.iter_modules(path) if m.name != "base"))

    def register(self, obj: Any) -> Any:
        """Add ``obj`` under its ``name``; returns it (usable as a decorator)."""
        self.items[obj.name] = obj
        return obj

    def available(self) -> dict[str, T]:
        """Every entry by name, the built-in ones first (plugins of the ``sciml.plugins`` entry
        points are loaded on the first call)."""
        from .plugins import load_entry_points

        for name in self.builtin:
            importlib.import_module(f"{self.package}.{name}")
        load_entry_points()
        order = [*self.builtin, *(name for name in self.items if name not in self.builtin)]
        return {name: self.items[name] for name in order if name in self.items}

    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name raises :class:`ProblemError`."""
        entries = self.available()
        if name not in entries:
            raise ProblemError(f"unknown {self.what} {name!r} ({self.what}s: {', '.join(entries)})")
        return entries[name]
