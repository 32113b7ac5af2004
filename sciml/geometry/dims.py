"""Space dimensions and the names of the coordinates."""

from __future__ import annotations

MAX_DIM = 10  # space dimensions of a box (physics-informed solvers); meshes and references: 1-3


def space_names(dim: int) -> tuple[str, ...]:
    """Names of the space coordinates: ``x, y, z`` up to 3D, ``x1 ... xd`` above.

    >>> space_names(2), space_names(4)
    (('x', 'y'), ('x1', 'x2', 'x3', 'x4'))
    """
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"x{i + 1}" for i in range(dim))


def is_coordinate(name: str) -> bool:
    """Whether ``name`` names a coordinate (``x, y, z, t`` or ``x1 ... x10``)."""
    return name in ("x", "y", "z", "t") or (name[:1] == "x" and name[1:].isdigit() and 1 <= int(name[1:]) <= MAX_DIM)
