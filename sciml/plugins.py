"""Code of the user's own that extends sciml: a Python file given with ``--plugin FILE.py``, or
a package that declares an entry point in the group ``sciml.plugins``. Importing it runs its
registrations (a PDE type with :func:`sciml.pdes.register`, a solver with
:func:`sciml.solvers.register`). docs/pdes.md shows a PDE type added in one file."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

from .errors import ProblemError

GROUP = "sciml.plugins"
_ENTRY_POINTS_LOADED = False


def load_file(path: str | Path) -> ModuleType:
    """Import the Python file ``path`` as a plugin; any failure is bad input naming the file."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise ProblemError("--plugin: expected a Python file (.py)", path)
    name = f"sciml_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the user's code: whatever it raises is reported with its file
        del sys.modules[name]
        raise ProblemError(f"--plugin: importing it failed: {type(exc).__name__}: {exc}", path) from None
    return module


def load_entry_points() -> None:
    """Import every installed plugin of the ``sciml.plugins`` entry-point group, once."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for entry in metadata.entry_points(group=GROUP):
        try:
            entry.load()
        except Exception as exc:
            raise ProblemError(f"the plugin {entry.name!r} ({entry.value}) failed to load: "
                               f"{type(exc).__name__}: {exc}") from None
