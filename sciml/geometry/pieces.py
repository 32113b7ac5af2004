"""Boundary pieces: the named parts a domain's boundary is made of.

Every analytic domain describes its boundary as a list of pieces (end points in 1D, segments
and arcs in 2D, rectangular faces in 3D). A piece knows its measure, maps parameters in
``[0, 1]^(d-1)`` to points, gives outward normals and distances. The piece name doubles as the
boundary tag usable in a problem file's ``where``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EndPoint:
    """One end of an interval, with outward normal ``sign`` (-1 left, +1 right)."""

    x: float
    sign: float
    name: str
    param_dim = 0

    @property
    def measure(self) -> float:
        return 1.0

    def at(self, u: np.ndarray) -> np.ndarray:
        return np.full((len(u), 1), self.x)

    def normal(self, p: np.ndarray) -> np.ndarray:
        return np.full((len(p), 1), self.sign)

    def distance(self, p: np.ndarray) -> np.ndarray:
        return np.abs(p[:, 0] - self.x)


@dataclass(frozen=True)
class Segment:
    """A straight 2D segment from ``a`` to ``b``; the outward normal is on its right-hand side
    for counter-clockwise outer boundaries (``flip`` turns it for holes)."""

    a: tuple[float, float]
    b: tuple[float, float]
    name: str
    flip: bool = False
    param_dim = 1

    @property
    def measure(self) -> float:
        return float(np.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1]))

    def at(self, u: np.ndarray) -> np.ndarray:
        a, b = np.asarray(self.a), np.asarray(self.b)
        return a + np.asarray(u).reshape(-1, 1) * (b - a)

    def normal(self, p: np.ndarray) -> np.ndarray:
        d = (np.asarray(self.b) - np.asarray(self.a)) / self.measure
        n = np.array([d[1], -d[0]]) * (-1.0 if self.flip else 1.0)
        return np.tile(n, (len(p), 1))

    def distance(self, p: np.ndarray) -> np.ndarray:
        a, b = np.asarray(self.a), np.asarray(self.b)
        ab = b - a
        s = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
        return np.linalg.norm(p - (a + s[:, None] * ab), axis=1)


@dataclass(frozen=True)
class Arc:
    """A circular arc (full circle by default); outward normal points away from the centre
    unless ``inward`` (a hole's boundary, seen from the domain)."""

    center: tuple[float, float]
    radius: float
    name: str
    inward: bool = False
    theta0: float = 0.0
    theta1: float = 2 * np.pi
    param_dim = 1

    @property
    def measure(self) -> float:
        return self.radius * (self.theta1 - self.theta0)

    def at(self, u: np.ndarray) -> np.ndarray:
        th = self.theta0 + np.asarray(u).reshape(-1) * (self.theta1 - self.theta0)
        return np.asarray(self.center) + self.radius * np.stack([np.cos(th), np.sin(th)], axis=1)

    def normal(self, p: np.ndarray) -> np.ndarray:
        r = p - np.asarray(self.center)
        n = r / np.linalg.norm(r, axis=1, keepdims=True)
        return -n if self.inward else n

    def distance(self, p: np.ndarray) -> np.ndarray:
        return np.abs(np.linalg.norm(p - np.asarray(self.center), axis=1) - self.radius)


@dataclass(frozen=True)
class BoxFace:
    """The face ``x[axis] = value`` of a box in 3 or more dimensions, outward normal
    ``sign * e_axis``."""

    axis: int
    value: float
    sign: float
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    name: str

    @property
    def param_dim(self) -> int:
        return len(self.lo) - 1

    def _others(self) -> list[int]:
        return [i for i in range(len(self.lo)) if i != self.axis]

    @property
    def measure(self) -> float:
        return float(np.prod([self.hi[i] - self.lo[i] for i in self._others()]))

    def at(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u).reshape(-1, self.param_dim)
        p = np.empty((len(u), len(self.lo)))
        p[:, self.axis] = self.value
        for k, i in enumerate(self._others()):
            p[:, i] = self.lo[i] + u[:, k] * (self.hi[i] - self.lo[i])
        return p

    def normal(self, p: np.ndarray) -> np.ndarray:
        n = np.zeros((len(p), len(self.lo)))
        n[:, self.axis] = self.sign
        return n

    def distance(self, p: np.ndarray) -> np.ndarray:
        q = np.clip(p, self.lo, self.hi)
        q[:, self.axis] = self.value
        return np.linalg.norm(p - q, axis=1)


Piece = EndPoint | Segment | Arc | BoxFace
