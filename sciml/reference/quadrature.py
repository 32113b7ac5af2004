"""Quadrature rules on the reference simplex in barycentric coordinates.

Weights sum to one (multiply by the simplex measure). Sources: Gauss-Legendre on the interval;
Strang & Fix / Dunavant rules on the triangle; Keast's rules on the tetrahedron.
"""

from __future__ import annotations

import numpy as np


def simplex_rule(dim: int, degree: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric points ``(q, dim + 1)`` and weights ``(q,)`` exact to ``degree``.

    ``dim = 0`` is a point; degrees up to 4 are available for ``dim <= 2`` and up to 2 for 3D.
    """
    if dim == 0:
        return np.ones((1, 1)), np.ones(1)
    if dim == 1:
        n = max(1, (degree + 2) // 2)
        x, w = np.polynomial.legendre.leggauss(n)
        s = (x + 1) / 2
        return np.stack([1 - s, s], axis=1), w / 2
    if dim == 2:
        if degree <= 1:
            return np.full((1, 3), 1 / 3), np.ones(1)
        if degree == 2:
            a, b = 2 / 3, 1 / 6
            return np.array([[a, b, b], [b, a, b], [b, b, a]]), np.full(3, 1 / 3)
        a1, b1, w1 = 0.816847572980459, 0.091576213509771, 0.109951743655322
        a2, b2, w2 = 0.108103018168070, 0.445948490915965, 0.223381589678011
        pts = [[a1, b1, b1], [b1, a1, b1], [b1, b1, a1], [a2, b2, b2], [b2, a2, b2], [b2, b2, a2]]
        return np.array(pts), np.array([w1] * 3 + [w2] * 3)
    if degree <= 1:
        return np.full((1, 4), 0.25), np.ones(1)
    if degree > 2:
        raise ValueError("tetrahedron rules are provided up to degree 2")
    a, b = 0.5854101966249685, 0.1381966011250105
    return np.array([[a, b, b, b], [b, a, b, b], [b, b, a, b], [b, b, b, a]]), np.full(4, 0.25)
