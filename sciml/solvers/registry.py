"""Name -> solver class. Solvers register themselves with :func:`register`."""

from __future__ import annotations

from typing import Any, TypeVar

from ..errors import ProblemError

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)

def register(cls: T) -> T:
    """Class decorator adding a solver under its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls

def available() -> dict[str, type]:
    """Registered solvers by name."""
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))

def get_class(name: str) -> type:
    """The solver class registered as ``name``; unknown names raise :class:`ProblemError`."""
    solvers = available()
    if name not in solvers:
        raise ProblemError(f"unknown solver {name!r} (available: {', '.join(solvers)})")
    return solvers[name]


def get(name: str, **options: Any) -> Any:
    """Build the solver ``name`` with ``options``; unknown names raise :class:`ProblemError`."""
    return get_class(name)(**options)


def _load_builtin() -> None:
    from . import dcdm, deeponet, ggn, hypino, insr, lpinn, mgno, pig, pinn, reference  # noqa: F401  (registers on import)
