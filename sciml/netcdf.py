"""HDF5 written the netCDF-4 way: every dataset's axes are named dimension scales, so that
``xarray.open_dataset(path, engine="h5netcdf")`` (or any netCDF tool) sees named dimensions,
coordinate variables and one variable per field, while h5py reads the same file as plain arrays.

The writer needs h5py only (no netCDF library): a dimension is a dataset made a dimension scale
(a coordinate variable when it holds values, an index otherwise), and a variable attaches the
scales of its dimensions in order.

>>> import h5py, numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
>>> with h5py.File(path, "w") as f:
...     _ = dimension(f, "x", np.linspace(0, 1, 3))
...     _ = variable(f, "u", np.zeros(3), ("x",))
>>> with h5py.File(path) as f:
...     dims_of(f["u"])
('x',)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

SPACE_NAMES = ("x", "y", "z")


def axis_names(dim: int) -> tuple[str, ...]:
    """Names of ``dim`` space axes: ``x, y, z`` up to three, else ``x1 ... xd``."""
    return SPACE_NAMES[:dim] if dim <= 3 else tuple(f"x{i + 1}" for i in range(dim))


def dimension(group: Any, name: str, values: np.ndarray | int) -> Any:
    """A dimension scale ``name`` in ``group``: a coordinate variable holding ``values``, or for
    an int ``n`` the index ``0 .. n-1``."""
    data = np.arange(values) if isinstance(values, (int, np.integer)) else np.asarray(values)
    ds = group.create_dataset(name, data=data)
    ds.make_scale(name)
    return ds


def variable(group: Any, name: str, data: Any, dims: Sequence[str], scales: Any = None, **kwargs: Any) -> Any:
    """A dataset ``name`` whose axes are the dimension scales ``dims`` (looked up in ``scales``,
    default the file's root group); ``kwargs`` go to ``create_dataset`` (shape, dtype, chunks)."""
    ds = group.create_dataset(name, data=data, **kwargs) if data is not None else group.create_dataset(name, **kwargs)
    if len(dims) != ds.ndim:
        raise ValueError(f"{name}: {ds.ndim} axes but dimensions {tuple(dims)}")
    root = scales if scales is not None else group.file
    for axis, dim in enumerate(dims):
        ds.dims[axis].attach_scale(root[dim])
    return ds


def dims_of(ds: Any) -> tuple[str, ...]:
    """The dimension names of a dataset written by :func:`variable`."""
    return tuple(d[0].name.rsplit("/", 1)[-1] if len(d) else "" for d in ds.dims)
