"""Finite differences on regular grids: the 3/5/7-point Laplacian and the variable-coefficient
operator ``-div(k grad u)`` with Dirichlet boundaries, for grid-based solvers and data sets.

Unknowns are the interior nodes of a grid with ``n`` intervals per axis, ordered ``ij`` (C
order). Face coefficients are arithmetic means of the nodal ``k``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _second_difference(n: int, h: float) -> sp.csr_matrix:
    m = n - 1
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1]) / h**2


def laplacian(n: tuple[int, ...], h: tuple[float, ...]) -> sp.csr_matrix:
    """The negative Laplacian ``-lap`` (3-, 5- or 7-point stencil) on interior nodes with
    homogeneous Dirichlet values; ``n`` intervals and spacing ``h`` per axis."""
    mats = [_second_difference(ni, hi) for ni, hi in zip(n, h)]
    eyes = [sp.identity(ni - 1) for ni in n]
    out = sp.csr_matrix((int(np.prod([ni - 1 for ni in n])),) * 2)
    for axis in range(len(n)):
        term = None
        for k in range(len(n)):
            factor = mats[k] if k == axis else eyes[k]
            term = factor if term is None else sp.kron(term, factor)
        out = out + term
    return out.tocsr()


def diffusion_operator(k: np.ndarray, h: tuple[float, ...]) -> sp.csr_matrix:
    """``-div(k grad u)`` on interior nodes, from nodal ``k`` on the full grid (shape
    ``(n_1 + 1, ..., n_d + 1)``), homogeneous Dirichlet boundaries."""
    k = np.asarray(k, dtype=float)
    shape = tuple(s - 2 for s in k.shape)
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    inner = tuple(slice(1, -1) for _ in shape)
    diag = np.zeros(shape)
    rows, cols, vals = [], [], []
    for axis, hk in enumerate(h):
        for step in (-1, 1):
            nb = list(inner)
            nb[axis] = slice(1 + step, k.shape[axis] - 1 + step)
            face = 0.5 * (k[inner] + k[tuple(nb)]) / hk**2
            diag += face
            src = np.ones(shape, dtype=bool)
            sl = [slice(None)] * len(shape)
            sl[axis] = 0 if step < 0 else -1
            src[tuple(sl)] = False  # neighbour is a boundary node: Dirichlet, drops out
            shifted = np.roll(index, -step, axis=axis)
            rows.append(index[src])
            cols.append(shifted[src])
            vals.append(-face[src])
    rows.append(index.ravel())
    cols.append(index.ravel())
    vals.append(diag.ravel())
    return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(size, size)).tocsr()
