"""Point sets in the unit cube: uniform (a regular lattice), random, Sobol and Latin hypercube.

Domains map these onto their interior and boundary pieces.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from ..errors import ProblemError

METHODS = ("uniform", "random", "sobol", "lhs")


def unit_points(n: int, dim: int, method: str = "random",
                rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` points in ``[0, 1]^dim``.

    Parameters
    ----------
    n
        Number of points.
    dim
        Dimension (0 gives an ``(n, 0)`` array).
    method
        ``uniform`` (cell centres of the most nearly cubic lattice with at least ``n`` points,
        then the first ``n`` of a random permutation when it has more), ``random``, ``sobol``
        (scrambled) or ``lhs``.
    rng
        Random generator (seeds every method but ``uniform``).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if method not in METHODS:
        raise ProblemError(f"unknown sampling method {method!r} (choose from {', '.join(METHODS)})")
    if dim == 0 or n == 0:
        return np.zeros((n, dim))
    if method == "random":
        return rng.random((n, dim))
    if method == "sobol":
        m = int(np.ceil(np.log2(max(n, 2))))
        return qmc.Sobol(dim, scramble=True, seed=rng).random_base2(m)[:n]
    if method == "lhs":
        return qmc.LatinHypercube(dim, seed=rng).random(n)
    k = int(np.ceil(n ** (1.0 / dim) - 1e-9))
    axes = [(np.arange(k) + 0.5) / k] * dim
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    if len(grid) > n:
        grid = grid[np.sort(rng.permutation(len(grid))[:n])]
    return grid


def split_counts(n: int, weights: np.ndarray) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    share = n * w / w.sum()
    counts = np.floor(share).astype(int)
    rest = n - counts.sum()
    counts[np.argsort(counts - share)[:rest]] += 1
    return counts
