"""ParaView output of a :class:`~sciml.solution.Solution`: ``solution.vtu`` (the steady
solution, a 1D transient one as a space-time mesh, else the final time) and, for transient
solutions, the time series ``solution.pvd`` with one ``.vtu`` per stored time under ``steps/``.

Cells: the solution's mesh (lines, triangles, tetrahedra), quads or hexahedra over a grid, one
vertex per node for scattered points. Point data: one array per field, ``displacement`` for
vector fields ``ux, uy(, uz)``, and the identified coefficients of an inverse problem.
Solutions in more than three dimensions have no VTK form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

import numpy as np

from .io import atomic_write, write_text

if TYPE_CHECKING:
    from .solution import Solution

STEPS = "steps"


def write_vtk(sol: "Solution", directory: Path) -> list[Path]:
    """Write ``solution.vtu`` (and the ``solution.pvd`` series of a transient solution) into
    ``directory``; returns what was written (nothing beyond three dimensions)."""
    import meshio

    cells = _cells(sol)
    if cells is None:
        return []

    def vtu(path: Path, points: np.ndarray, cell_block: tuple[str, np.ndarray], values: np.ndarray,
            extra: dict[str, np.ndarray]) -> Path:
        mesh = meshio.Mesh(_pad3(points), [cell_block], point_data={**_data(sol, values), **extra})
        return atomic_write(path, lambda tmp: meshio.write(tmp, mesh, file_format="vtu"))

    coefficients = {k: np.asarray(v) for k, v in sol.coefficients.items()}
    if sol.transient and sol.dim == 1:
        order = np.argsort(sol.points[:, 0])
        x, nt = sol.points[order, 0], len(sol.times)
        pts = np.stack(np.meshgrid(x, sol.times, indexing="xy"), axis=-1).reshape(-1, 2)
        values = sol.values[:, order, :].reshape(-1, len(sol.fields))
        tiled = {k: np.tile(v[order], nt) for k, v in coefficients.items()}
        written = [vtu(directory / "solution.vtu", pts, ("quad", _quad_cells(len(x), nt)), values, tiled)]
    else:
        written = [vtu(directory / "solution.vtu", sol.points, cells, sol.final(), coefficients)]
    if sol.transient:
        (directory / STEPS).mkdir(exist_ok=True)
        entries = []
        for k, t in enumerate(sol.times):
            name = f"{STEPS}/solution_{k:05d}.vtu"
            written.append(vtu(directory / name, sol.points, cells, sol.values[k], coefficients))
            entries.append(f'    <DataSet timestep="{float(t)!r}" group="" part="0" file={quoteattr(name)}/>')
        text = "\n".join(['<?xml version="1.0"?>',
                          '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
                          "  <Collection>", *entries, "  </Collection>", "</VTKFile>", ""])
        written.append(write_text(directory / "solution.pvd", text))
    return written


def read_pvd(path: Path) -> list[tuple[float, Path]]:
    """The ``(time, file)`` entries of a ``.pvd`` collection, files resolved beside it."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return [(float(e.get("timestep")), path.parent / e.get("file")) for e in root.iter("DataSet")]


def _pad3(points: np.ndarray) -> np.ndarray:
    return np.pad(points, ((0, 0), (0, 3 - points.shape[1])))


def _data(sol: "Solution", values: np.ndarray) -> dict[str, np.ndarray]:
    out = {name: values[..., i].ravel() for i, name in enumerate(sol.fields)}
    if len(sol.fields) > 1 and sol.fields[0].startswith("u"):
        out["displacement"] = values.reshape(-1, len(sol.fields))
    return out


def _cells(sol: "Solution") -> tuple[str, np.ndarray] | None:
    """The VTK cells over the solution's nodes, or None beyond three dimensions."""
    if sol.dim > 3:
        return None
    if sol.kind == "mesh":
        return {1: "line", 2: "triangle", 3: "tetra"}[sol.dim], np.asarray(sol.cells)
    if sol.kind == "points":
        return "vertex", np.arange(len(sol.points))[:, None]
    sizes = [len(a) for a in sol.axes]
    index = np.arange(int(np.prod(sizes))).reshape(sizes)  # ij order, as the grid's points
    if len(sizes) == 1:
        return "line", np.stack([index[:-1], index[1:]], 1)
    if len(sizes) == 2:
        return "quad", np.stack([index[:-1, :-1], index[1:, :-1], index[1:, 1:], index[:-1, 1:]], -1).reshape(-1, 4)
    corners = [index[:-1, :-1, :-1], index[1:, :-1, :-1], index[1:, 1:, :-1], index[:-1, 1:, :-1],
               index[:-1, :-1, 1:], index[1:, :-1, 1:], index[1:, 1:, 1:], index[:-1, 1:, 1:]]
    return "hexahedron", np.stack(corners, -1).reshape(-1, 8)


def _quad_cells(nx: int, nt: int) -> np.ndarray:
    """Quads of an x-major (row = time) structured grid."""
    i, j = np.meshgrid(np.arange(nx - 1), np.arange(nt - 1), indexing="xy")
    a = (j * nx + i).ravel()
    return np.stack([a, a + 1, a + nx + 1, a + nx], axis=1)

