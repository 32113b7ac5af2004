"""The ``solution.h5`` file of a :class:`~sciml.solution.Solution`: netCDF-style HDF5 (see
:mod:`sciml.netcdf`) that xarray opens with named dimensions.

Layout (format ``sciml-solution/2``):

* grid solutions: coordinate variables per axis (``x``, ``y``, ``z``; an ODE's ``t``) and, for
  transient ones, ``t``; one variable per field with dimensions ``(t, x, y, z)``;
* mesh and point solutions: the dimension ``node``, coordinate variables ``x(node)``, ...,
  ``cells(cell, corner)`` for meshes, one variable per field ``(t, node)`` whose ``coordinates``
  attribute names the coordinate variables;
* identified coefficients (inverse problems) in the group ``coefficients`` on the same
  dimensions; the problem, solver, kind, field names and ``info`` (JSON) as attributes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ProblemError
from .io import strict
from .netcdf import dimension, variable

if TYPE_CHECKING:
    from .solution import Solution

FORMAT = "sciml-solution/2"


def write_h5(sol: "Solution", path: Path) -> None:
    """Write ``sol`` to the new file ``path``."""
    import h5py

    names = tuple(sol.axis_names)
    reserved = set(names) | {"t", "node", "cell", "corner", "cells", "coefficients"}
    clash = sorted(set(sol.fields) & reserved)
    if clash:
        raise ProblemError(f"field name {clash[0]!r} is reserved in solution.h5 (axes, time and mesh names)")
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": FORMAT, "problem": sol.problem, "solver": sol.solver, "kind": sol.kind,
                        "fields": json.dumps(list(sol.fields)), "axis_names": json.dumps(list(names)),
                        "info": json.dumps(strict(sol.info), default=str)})
        lead: tuple[str, ...] = ()
        if sol.times is not None:
            dimension(f, "t", np.asarray(sol.times, dtype=float)).attrs["long_name"] = "time"
            lead = ("t",)
        if sol.kind == "grid":
            for name, ax in zip(names, sol.axes):
                dimension(f, name, np.asarray(ax, dtype=float))
            space, shape, extra = names, tuple(len(a) for a in sol.axes), {}
        else:
            dimension(f, "node", len(sol.points))
            for i, name in enumerate(names):
                variable(f, name, sol.points[:, i], ("node",))
            if sol.cells is not None:
                dimension(f, "cell", len(sol.cells))
                dimension(f, "corner", sol.cells.shape[1])
                variable(f, "cells", np.asarray(sol.cells), ("cell", "corner"))
            space, shape, extra = ("node",), (len(sol.points),), {"coordinates": " ".join(names)}
        lead_shape = (len(sol.times),) if sol.times is not None else ()
        for i, name in enumerate(sol.fields):
            ds = variable(f, name, sol.values[..., i].reshape(lead_shape + shape), lead + space)
            ds.attrs.update(extra)
        if sol.coefficients:
            group = f.create_group("coefficients")
            for name, values in sol.coefficients.items():
                ds = variable(group, name, np.asarray(values).reshape(shape), space, scales=f)
                ds.attrs.update(extra)


def read_h5(path: Path) -> dict[str, Any]:
    """The keyword arguments of the :class:`~sciml.solution.Solution` stored in ``path``."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ProblemError(f"{path} is not an HDF5 file: {exc}") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ProblemError(f"{path} is not a sciml solution file (format {FORMAT})")
        fields = tuple(json.loads(f.attrs["fields"]))
        names = tuple(json.loads(f.attrs["axis_names"]))
        kind = str(f.attrs["kind"])
        times = f["t"][()] if "t" in f and "t" not in names else None
        lead = (len(times),) if times is not None else ()
        cells = axes = None
        if kind == "grid":
            axes = [f[n][()] for n in names]
            points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
        else:
            points = np.stack([f[n][()] for n in names], axis=1)
            cells = f["cells"][()] if "cells" in f else None
        n = len(points)
        values = np.stack([f[name][()].reshape(lead + (n,)) for name in fields], axis=-1)
        coefficients = {k: v[()].reshape(n) for k, v in f["coefficients"].items()} if "coefficients" in f else {}
        return {"problem": str(f.attrs["problem"]), "solver": str(f.attrs["solver"]), "fields": fields,
                "kind": kind, "points": points, "values": values, "cells": cells, "axes": axes, "times": times,
                "info": json.loads(f.attrs["info"]), "coefficients": coefficients, "axis_names": names}
