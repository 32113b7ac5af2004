"""Coefficients given as data: values on a regular grid, read from ``.npy`` or ``.h5`` and
interpolated, callable in any expression of the problem file.

.. code-block:: toml

    [data.perm]                # called as perm(x, y) in any expression
    file = "perm.npy"          # values on a regular grid, shape (n_x[, n_y[, n_z]]), or .h5
    lo = [0.0, 0.0]            # the grid's first and last nodes per axis
    hi = [1.0, 1.0]

    [pde]
    type = "poisson"
    k = "perm(x, y)"

An ``.h5`` file holds the dataset ``values`` (or the one named by ``dataset``). Between nodes the
values are interpolated multilinearly (differentiably, for the physics-informed solvers'
coefficient gradients); outside the grid the nearest edge value is used.

>>> g = GridFunction(np.array([[0.0, 1.0], [2.0, 3.0]]), (0.0, 0.0), (1.0, 1.0))
>>> float(g(np.array(0.5), np.array(0.5)))
1.5
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ProblemError

KEYS = ("file", "lo", "hi", "dataset")


class GridFunction:
    """Multilinear interpolation of ``values`` ``(n_1, ..., n_d)`` on the regular grid from
    ``lo`` to ``hi``, with NumPy (float64) or torch (differentiable in the coordinates)."""

    def __init__(self, values: np.ndarray, lo: tuple[float, ...], hi: tuple[float, ...]):
        self.values = np.asarray(values, dtype=float)
        self.lo, self.hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.dim = self.values.ndim

    def __call__(self, *coords: Any) -> Any:
        if len(coords) != self.dim:
            raise ProblemError(f"this data function takes {self.dim} coordinate(s), got {len(coords)}")
        torch = sys.modules.get("torch")
        if torch is not None and any(isinstance(c, torch.Tensor) for c in coords):
            return self._interpolate(torch, coords)
        return self._interpolate(np, [np.asarray(c, dtype=float) for c in coords])

    def _interpolate(self, lib: Any, coords: Any) -> Any:
        if lib is np:
            coords = np.broadcast_arrays(*coords)
            values = self.values
        else:
            ref = next(c for c in coords if isinstance(c, lib.Tensor))
            coords = lib.broadcast_tensors(*(lib.as_tensor(c, dtype=ref.dtype, device=ref.device) for c in coords))
            values = lib.as_tensor(self.values, dtype=ref.dtype, device=ref.device)
        lower, frac = [], []
        for k, c in enumerate(coords):
            n = self.values.shape[k]
            h = (self.hi[k] - self.lo[k]) / (n - 1)
            s = (c - self.lo[k]) / h
            s = np.clip(s, 0, n - 1) if lib is np else s.clamp(0, n - 1)
            i = np.minimum(np.floor(s).astype(int), n - 2) if lib is np else s.detach().floor().long().clamp(max=n - 2)
            lower.append(i)
            frac.append(s - i)
        out = 0.0
        for corner in range(2 ** self.dim):
            bits = [(corner >> k) & 1 for k in range(self.dim)]
            weight = 1.0
            for b, f in zip(bits, frac):
                weight = weight * (f if b else 1 - f)
            out = out + weight * values[tuple(i + b for i, b in zip(lower, bits))]
        return out


def read_data(table: Any, base: Path | None, source: Any, dims: int) -> dict[str, GridFunction]:
    """The ``[data]`` table: one :class:`GridFunction` per entry."""
    if not isinstance(table, Mapping):
        raise ProblemError("expected a table of [data.NAME] tables", source, "data")
    out = {}
    for name, entry in table.items():
        key = f"data.{name}"
        if not name.isidentifier():
            raise ProblemError("a data function's name must be an identifier", source, key)
        if not isinstance(entry, Mapping):
            raise ProblemError("expected a table with file, lo and hi", source, key)
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise ProblemError(f"unknown key (allowed here: {', '.join(KEYS)})", source, f"{key}.{unknown[0]}")
        values = _values(entry, base, source, key)
        if not 1 <= values.ndim <= max(dims, 1) or min(values.shape) < 2:
            raise ProblemError(f"expected values on a grid of 1 to {max(dims, 1)} axes with at least 2 nodes each, got "
                               f"shape {values.shape}", source, f"{key}.file")
        if not np.all(np.isfinite(values)):
            raise ProblemError(f"{int((~np.isfinite(values)).sum())} value(s) are not finite", source, f"{key}.file")
        bounds = []
        for side in ("lo", "hi"):
            v = entry.get(side)
            if not isinstance(v, list) or len(v) != values.ndim or not all(
                    isinstance(c, (int, float)) and not isinstance(c, bool) and np.isfinite(c) for c in v):
                raise ProblemError(f"expected {values.ndim} finite numbers (one per grid axis)", source, f"{key}.{side}")
            bounds.append(tuple(float(c) for c in v))
        if not all(b > a for a, b in zip(*bounds)):
            raise ProblemError("expected hi > lo on every axis", source, f"{key}.hi")
        out[name] = GridFunction(values, *bounds)
    return out


def _values(entry: Mapping[str, Any], base: Path | None, source: Any, key: str) -> np.ndarray:
    file = entry.get("file")
    if not isinstance(file, str):
        raise ProblemError("expected the path of a .npy or .h5 file", source, f"{key}.file")
    path = Path(file) if Path(file).is_absolute() or base is None else base / file
    if not path.is_file():
        raise ProblemError(f"data file not found: {path}", source, f"{key}.file")
    try:
        if path.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                values = np.asarray(f[str(entry.get("dataset", "values"))][()])
        else:
            values = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy and h5py raise many kinds for a damaged file
        raise ProblemError(f"cannot read {path}: {type(exc).__name__}: {exc}", source, f"{key}.file") from None
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu":
        raise ProblemError(f"expected an array of real numbers in {path}", source, f"{key}.file")
    return values.astype(float)
