"""HyPINO training samples that look like real problems, solved by our SciPy references
(issue [hypino], part 3; not in the paper, which trains on manufactured solutions only).

A sample is a random problem of one of the benchmark classes, written as an ordinary problem
(:func:`random_problem`) and solved by :func:`~sciml.reference.solve_reference`:

* elliptic (70%): ``-a (u_xx + s u_yy) + b . grad u + c u = f``, the whole operator times
  ``+-1``, on ``[-1, 1]^2`` minus zero to three holes (disks, rectangles, triangles) or on an
  L-shape; ``c / a`` stays below the box's first Dirichlet eigenvalue, so Helmholtz-like
  problems are well posed; sources: none, one to four Gaussian bumps, or a random smooth field
  (wave numbers up to ``source_freq`` pi per axis, 3 by default);
  outer Dirichlet data zero, constant or a smooth function; each hole Dirichlet (a constant) or
  Neumann zero;
* heat in space-time (15%): ``u_y - nu u_xx + c u = f`` (``y`` is time) with initial data on the
  bottom edge and Dirichlet sides;
* wave in space-time (15%): ``u_yy - s^2 u_xx = 0`` with ``u`` and ``u_y`` on the bottom edge.

The targets are the reference's values at the interior loss points (no derivatives: P1 fields
have none worth fitting, so the sample trains ``L_u``, ``L_f``, ``L_D`` and ``L_N`` but not
``L_der``). Solving takes 0.1-0.8 s a problem, too slow to generate 16 per training step, so
samples are made once into a bank file (:func:`write_bank`, ``sciml train hypino --set
reference_bank=FILE``) that training draws from (:class:`ReferenceBank`) beside the generated
ones.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProblemError
from ..problems import Problem, problem_from_dict
from ..problems.linear import coefficients
from ..problems.raster import boundary_data, rasterize
from .pde_samples import Sample, SampleConfig, hole_specs, make_sample

BANK_FORMAT = "sciml-hypino-bank/1"
KINDS = (("elliptic", 0.7), ("heat", 0.15), ("wave", 0.15))
_FIELDS = ("coefficients", "edge_channels", "source", "inside", "interior", "f_int", "u", "boundary", "normals",
           "dirichlet", "g_d", "neumann", "g_n")


def _num(x: float) -> str:
    return repr(float(x))


def _smooth(rng: np.random.Generator, terms: int, max_freq: float) -> str:
    """A random smooth function of ``x, y``: a sum of ``terms`` sinusoids."""
    parts = []
    for _ in range(terms):
        a, b = rng.uniform(-max_freq, max_freq, 2)
        parts.append(f"{_num(rng.uniform(-1, 1))}*sin({_num(a)}*x + {_num(b)}*y + {_num(rng.uniform(0, 2 * np.pi))})")
    return " + ".join(parts)


def _bumps(rng: np.random.Generator) -> str:
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        cx, cy = rng.uniform(-0.8, 0.8, 2)
        width = rng.uniform(0.005, 0.1)
        parts.append(f"{_num(rng.uniform(-1, 1))}*exp(-((x - {_num(cx)})**2 + (y - {_num(cy)})**2)/{_num(width)})")
    return " + ".join(parts)


def _source(rng: np.random.Generator, freq: float) -> str:
    draw = rng.random()
    amplitude = 10 ** rng.uniform(-1, 2.5)
    if draw < 0.25:
        return "0"
    body = _bumps(rng) if draw < 0.65 else _smooth(rng, int(rng.integers(1, 4)), freq * np.pi)
    return f"{_num(amplitude)}*({body})"


def _outer_data(rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.35:
        return "0"
    if draw < 0.6:
        return _num(rng.uniform(-1, 1))
    return _smooth(rng, int(rng.integers(1, 3)), 2 * np.pi)


def _elliptic(rng: np.random.Generator, max_holes: int, freq: float) -> dict[str, Any]:
    a = 1.0 if rng.random() < 0.5 else rng.uniform(0.3, 2.0)
    stretch = rng.uniform(0.5, 2.0) if rng.random() < 0.2 else 1.0
    # -a (u_xx + s u_yy) + c u is positive definite while -c / a < pi^2 (1 + s) / 4 (3.7 at s = 0.5)
    c_u = rng.uniform(-3.0, 4.0) * a if rng.random() < 0.6 else 0.0
    b = rng.uniform(-3, 3, 2) if rng.random() < 0.3 else np.zeros(2)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    f = _source(rng, freq)
    pde = {"type": "linear", "c_u": sign * c_u, "c_x": sign * b[0], "c_y": sign * b[1], "c_xx": -sign * a,
           "c_yy": -sign * a * stretch, "f": f if sign > 0 else f"-({f})"}
    boundary = []
    if rng.random() < 0.15:
        corner = rng.uniform(-0.3, 0.5, 2)
        quadrant = rng.integers(4)  # which corner of the square is cut out
        sx, sy = (1, 1) if quadrant == 0 else (-1, 1) if quadrant == 1 else (-1, -1) if quadrant == 2 else (1, -1)
        cx, cy = sx * corner[0], sy * corner[1]
        vertices = np.array([[-sx, -sy], [sx, -sy], [sx, cy], [cx, cy], [cx, sy], [-sx, sy]], dtype=float)
        x, y = vertices[:, 0], vertices[:, 1]
        if np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) < 0:  # counter-clockwise
            vertices = vertices[::-1]
        domain: dict[str, Any] = {"type": "polygon", "vertices": vertices.tolist()}
    else:
        holes = hole_specs(rng, int(rng.integers(max_holes + 1)))
        domain = {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]}
        if holes:
            domain["holes"] = holes
        for i in range(len(holes)):
            if rng.random() < 0.6 or stretch != 1.0:  # the FEM takes Neumann data only with an isotropic operator
                boundary.append({"where": f"hole{i}", "type": "dirichlet", "value": _num(rng.uniform(-1, 1))})
            else:
                boundary.append({"where": f"hole{i}", "type": "neumann", "value": "0"})
    outer = _outer_data(rng)
    if outer == "0" and f == "0" and not any(b["type"] == "dirichlet" and b["value"] != "0.0" for b in boundary):
        outer = _num(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1.0))  # not the zero problem
    boundary.append({"where": "all", "type": "dirichlet", "value": outer})
    return {"pde": pde, "domain": domain, "boundary": boundary, "reference": {"h": 0.04}}


def _initial(rng: np.random.Generator, left: float, right: float) -> str:
    """Initial data matching the side values ``left`` and ``right``: their linear interpolant
    plus sines that vanish at both ends."""
    modes = " + ".join(f"{_num(rng.uniform(-1, 1) / k)}*sin({k}*pi*(x + 1)/2)" for k in range(1, int(rng.integers(2, 6))))
    return f"{_num((left + right) / 2)} + {_num((right - left) / 2)}*x + {modes}"


def _spacetime(rng: np.random.Generator, kind: str, freq: float) -> dict[str, Any]:
    left, right = (0.0, 0.0) if kind == "wave" or rng.random() < 0.5 else tuple(rng.uniform(-1, 1, 2))
    u0 = _initial(rng, left, right)
    if kind == "heat":
        pde = {"type": "linear", "c_y": 1.0, "c_xx": -rng.uniform(0.02, 1.0),
               "c_u": rng.uniform(0, 2) if rng.random() < 0.3 else 0.0, "f": _source(rng, freq) if rng.random() < 0.3 else "0"}
        bottom = {"where": "bottom", "type": "dirichlet", "value": u0}
    else:
        speed = rng.uniform(0.5, 2.0)
        pde = {"type": "linear", "c_yy": 1.0, "c_xx": -speed**2, "f": "0"}
        v0 = "0" if rng.random() < 0.6 else _initial(rng, 0.0, 0.0)
        bottom = {"where": "bottom", "type": "cauchy", "value": [u0, f"-({v0})"]}  # du/dn = -u_y on the bottom
    return {"pde": pde, "domain": {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]},
            "boundary": [bottom, {"where": "left", "type": "dirichlet", "value": _num(left)},
                         {"where": "right", "type": "dirichlet", "value": _num(right)}],
            "reference": {"nodes": 129, "nt": 257}}


def random_problem(rng: np.random.Generator, max_holes: int = 3, source_freq: float = 3.0) -> Problem:
    """A random problem of the benchmark classes (see the module docstring); ``source_freq``:
    the largest wave number of a random smooth source, in multiples of pi per axis.

    >>> p = random_problem(np.random.default_rng(0))
    >>> p.pde.type, p.dim
    ('linear', 2)
    """
    kind = str(rng.choice([k for k, _ in KINDS], p=[w for _, w in KINDS]))
    if not source_freq > 0:
        raise ProblemError(f"source_freq must be positive, got {source_freq}")
    spec = _elliptic(rng, max_holes, source_freq) if kind == "elliptic" else _spacetime(rng, kind, source_freq)
    return problem_from_dict({"name": f"random-{kind}", **spec})


def reference_sample(rng: np.random.Generator, cfg: SampleConfig, points: int = 1024) -> dict[str, np.ndarray]:
    """One random problem solved by the reference: the raw (absolute) arrays a bank stores,
    with ``points`` interior and ``points`` boundary loss points."""
    from ..reference import solve_reference

    problem = random_problem(rng, cfg.max_holes, cfg.source_freq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solution = solve_reference(problem)
    raster = rasterize(problem, n=cfg.grid, boundary_points=cfg.raster_points, seed=int(rng.integers(2**31)))
    interior = problem.domain.sample_interior(points, rng=rng)
    edge = problem.domain.sample_boundary(points, rng=rng)
    dflag, g_d, nflag, g_n = boundary_data(problem, edge.points, np.asarray(edge.tags, dtype=str))
    u = np.asarray(solution(interior), dtype=float).reshape(len(interior))
    f_int = np.broadcast_to(problem.pde.f(interior), len(interior)).astype(float)
    if not (np.isfinite(u).all() and np.isfinite(raster.f).all()):
        raise ProblemError(f"a non-finite reference for a random {problem.name} problem")
    return {"coefficients": coefficients(problem), "edge_channels": raster.channels[:4].reshape(4, -1),
            "source": raster.f, "inside": raster.inside.ravel(), "interior": interior, "f_int": f_int, "u": u,
            "boundary": edge.points, "normals": edge.normals, "dirichlet": dflag, "g_d": g_d, "neumann": nflag,
            "g_n": g_n}


def _draw(args: tuple[int, int, SampleConfig, int]) -> dict[str, np.ndarray]:
    seed, index, cfg, points = args
    return reference_sample(np.random.default_rng([seed, index]), cfg, points)


def write_bank(path: str | Path, count: int, cfg: SampleConfig = SampleConfig(), seed: int = 0, points: int = 1024,
               workers: int = 1, progress: bool = False) -> Path:
    """Solve ``count`` random problems (sample ``i`` from ``default_rng([seed, i])``) and write
    them to the HDF5 file ``path`` (atomically), for ``cfg.grid`` encodings."""
    import h5py

    from ..io import atomic_write

    jobs = [(seed, i, cfg, points) for i in range(count)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=count, desc="reference samples", unit="problem")
    rows: list[dict[str, np.ndarray]] = []

    def collect(solved: Any) -> None:
        for row in solved:
            rows.append(row)
            if bar is not None:
                bar.update(1)

    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            collect(pool.map(_draw, jobs, chunksize=8))
    else:
        collect(map(_draw, jobs))
    if bar is not None:
        bar.close()

    def write(f: Any) -> None:
        with h5py.File(f, "w") as h5:
            h5.attrs["format"] = BANK_FORMAT
            h5.attrs["grid"], h5.attrs["seed"], h5.attrs["raster_points"] = cfg.grid, seed, cfg.raster_points
            h5.attrs["source_freq"] = cfg.source_freq
            for name in _FIELDS:
                h5.create_dataset(name, data=np.stack([r[name] for r in rows]).astype(
                    bool if name in ("inside",) else np.float32), compression="gzip")

    return atomic_write(Path(path), write)


class ReferenceBank:
    """A bank file of reference-solved problems (:func:`write_bank`), read whole into memory."""

    def __init__(self, path: str | Path, grid: int):
        import h5py

        try:
            with h5py.File(path, "r") as h5:
                if h5.attrs.get("format") != BANK_FORMAT:
                    raise ValueError(f"not a {BANK_FORMAT} file")
                self.grid = int(h5.attrs["grid"])
                self.data = {name: h5[name][()] for name in _FIELDS}
        except (OSError, KeyError, ValueError) as exc:
            raise ProblemError(f"cannot read the reference bank: {exc}", str(path), "reference_bank") from None
        if self.grid != grid:
            raise ProblemError(f"the reference bank holds {self.grid}^2 encodings, training uses {grid}^2",
                               str(path), "reference_bank")

    def __len__(self) -> int:
        return len(self.data["u"])

    def sample(self, rng: np.random.Generator, cfg: SampleConfig) -> Sample:
        """A random member with ``cfg.interior`` and ``cfg.boundary`` of its loss points, encoded
        with ``cfg.amplitude``."""
        d = self.data
        i = int(rng.integers(len(self)))
        have_i, have_b = d["interior"].shape[1], d["boundary"].shape[1]
        if cfg.interior > have_i or cfg.boundary > have_b:
            raise ProblemError(f"the reference bank keeps {have_i} interior and {have_b} boundary points per "
                               f"problem; training asks for {cfg.interior} and {cfg.boundary}", None, "reference_bank")
        pi = rng.choice(have_i, cfg.interior, replace=False)
        pb = rng.choice(have_b, cfg.boundary, replace=False)
        targets = np.zeros((cfg.interior, 5))
        targets[:, 0] = d["u"][i, pi]
        return make_sample(d["coefficients"][i].astype(float), d["edge_channels"][i].astype(float),
                           d["source"][i].astype(float), d["inside"][i], cfg.amplitude, d["interior"][i, pi],
                           d["f_int"][i, pi].astype(float), targets, d["boundary"][i, pb], d["normals"][i, pb],
                           d["dirichlet"][i, pb], d["g_d"][i, pb].astype(float), d["neumann"][i, pb],
                           d["g_n"][i, pb].astype(float), derivatives=False)
