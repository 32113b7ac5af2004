"""Incompressible smoke on a MAC grid around obstacles, one of which moves, in 2D (a plume
around discs) or 3D (around balls): the simulation loop in which the deep conjugate direction
method replaces the pressure solver (Kaneda et al., ICML 2023, test their networks on such smoke
scenes, in 3D).

Each step (grid units: cell size 1, velocities in cells per time unit; axis 1 points up):

1. semi-Lagrangian advection (midpoint back-trace, multilinear interpolation) of the density
   and every face velocity (Stam 1999);
2. buoyancy ``v += dt * buoyancy * density`` on the vertical faces and a density/velocity
   source near the bottom;
3. the obstacle moves (along axis 0); faces touching a solid cell take the solid's velocity;
4. pressure projection: ``A p = -div u`` on the fluid cells with the open-boundary pressure
   matrix (:func:`~sciml.linalg.grid.pressure_matrix`: Neumann at solids, ``p = 0`` outside the
   grid), solved by the chosen solver to ``rtol`` from the previous pressure (warm start), then
   ``u -= grad p`` on the faces between non-solid cells.

The matrix changes every step because the obstacle moves, so set-ups (IC(0), AMG, LU) are
rebuilt and timed every step.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from scipy.ndimage import map_coordinates

from ..errors import ProblemError, SolverError
from ..io import atomic_write, write_json, write_text
from ..linalg import amg, cg, direct, pcg, pressure_matrix, setup

SOLVERS = ("dcdm", "cg", "ic0", "amg", "direct")


@dataclass
class SmokeConfig:
    """Options of ``sciml simulate smoke``.

    Attributes
    ----------
    n, dim
        Cells per axis, and the dimension (2 or 3).
    steps, dt
        Time steps and step size (time units; velocities in cells per unit).
    buoyancy
        Upward acceleration per unit density.
    source_speed
        Upward velocity imposed in the source disc.
    pressure_solver
        ``dcdm``, ``cg``, ``ic0`` (IC(0)-PCG), ``amg`` (pyamg) or ``direct``.
    rtol, maxiter
        Pressure solve tolerance (``||r|| <= rtol ||b||``) and iteration cap.
    warm_start
        Start each solve from the previous step's pressure.
    model
        DCDM model file (default: the shipped 2D model).
    frames
        Number of PNG frames written over the run (and the GIF); 0 for none.
    period
        Period (time units) of the moving obstacle's horizontal oscillation.
    """

    n: int = 128
    dim: int = 2
    steps: int = 100
    dt: float = 1.0
    buoyancy: float = 0.05
    source_speed: float = 1.0
    pressure_solver: Literal["dcdm", "cg", "ic0", "amg", "direct"] = "dcdm"
    rtol: float = 1e-6
    maxiter: int = 2000
    warm_start: bool = True
    model: str | None = None
    frames: int = 20
    period: float = 100.0

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ProblemError(f"smoke: dim must be 2 or 3, got {self.dim}")
        if self.n < 16 or self.steps < 1 or self.dt <= 0 or self.rtol <= 0 or self.maxiter < 1 or self.frames < 0:
            raise ProblemError("smoke: n >= 16, steps >= 1, dt > 0, rtol > 0, maxiter >= 1, frames >= 0")
        if self.pressure_solver not in SOLVERS:
            raise ProblemError(f"unknown pressure solver {self.pressure_solver!r} (choose from {', '.join(SOLVERS)})")


@dataclass
class StepRecord:
    step: int
    iterations: int
    solve_s: float
    setup_s: float
    residual: float
    fluid_cells: int


@dataclass
class SmokeResult:
    """What a run produced: the final fields and one record per step."""

    config: SmokeConfig
    density: np.ndarray
    velocity: list[np.ndarray]  # one face array per axis, one longer along its own axis
    records: list[StepRecord] = field(default_factory=list)
    last_system: tuple[np.ndarray, Any, np.ndarray] | None = None  # (fluid, A, b) of the final step

    @property
    def total_solve_s(self) -> float:
        return float(sum(r.solve_s + r.setup_s for r in self.records))


class Scene:
    """The static obstacles, the moving one and the source, in grid units (discs in 2D, balls
    in 3D, whose third coordinate is mid-depth)."""

    def __init__(self, n: int, period: float, dim: int = 2):
        self.n, self.period, self.dim = n, period, dim
        depth = [0.5 * n] if dim == 3 else []
        self.static = [([0.3 * n, 0.55 * n, *depth], 0.07 * n), ([0.72 * n, 0.38 * n, *depth], 0.06 * n)]
        self.moving_radius = 0.08 * n
        self.source = ([0.5 * n, 0.1 * n, *depth], 0.06 * n if dim == 2 else 0.08 * n)
        self.centres = np.meshgrid(*[np.arange(n) + 0.5] * dim, indexing="ij")

    def moving(self, t: float) -> tuple[list[float], float]:
        """Centre and speed (along axis 0) of the moving obstacle at time ``t``."""
        w = 2 * math.pi / self.period
        centre = [self.n * (0.5 + 0.22 * math.sin(w * t)), 0.75 * self.n] + ([0.5 * self.n] if self.dim == 3 else [])
        return centre, self.n * 0.22 * w * math.cos(w * t)

    def _ball(self, centre: list[float], radius: float) -> np.ndarray:
        return sum((g - c) ** 2 for g, c in zip(self.centres, centre)) < radius**2

    def solid(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The solid cells and, on them, the solid's velocity along axis 0."""
        solid = np.zeros((self.n,) * self.dim, dtype=bool)
        for centre, r in self.static:
            solid |= self._ball(centre, r)
        centre, speed = self.moving(t)
        mover = self._ball(centre, self.moving_radius)
        return solid | mover, np.where(mover, speed, 0.0)

    def in_source(self) -> np.ndarray:
        return self._ball(*self.source)


def _offset(kind: int | None, dim: int) -> tuple[float, ...]:
    """Where values sit in a cell: its centre (``None``) or the faces normal to axis ``kind``."""
    return tuple(0.0 if a == kind else 0.5 for a in range(dim))


def _sample(q: np.ndarray, points: list[np.ndarray], offset: tuple[float, ...]) -> np.ndarray:
    """Multilinear samples of ``q`` (stored at ``index + offset``) at ``points``, clamped to the
    grid."""
    return map_coordinates(q, [p - o for p, o in zip(points, offset)], order=1, mode="nearest")


def advect(q: np.ndarray, kind: int | None, velocity: list[np.ndarray], dt: float) -> np.ndarray:
    """Semi-Lagrangian advection of ``q`` (cell centres, ``kind = None``, or the faces normal to
    axis ``kind``) by the MAC velocity with a midpoint back-trace."""
    dim = q.ndim
    offset = _offset(kind, dim)
    x = np.meshgrid(*[np.arange(s) + o for s, o in zip(q.shape, offset)], indexing="ij")

    def vel(points: list[np.ndarray]) -> list[np.ndarray]:
        return [_sample(velocity[a], points, _offset(a, dim)) for a in range(dim)]

    mid = vel([p - 0.5 * dt * c for p, c in zip(x, vel(x))])
    return _sample(q, [p - dt * c for p, c in zip(x, mid)], offset)


def divergence(velocity: list[np.ndarray]) -> np.ndarray:
    return sum(np.diff(c, axis=a) for a, c in enumerate(velocity))


def _face_masks(solid: np.ndarray) -> list[np.ndarray]:
    """Per axis, the faces touching a solid cell (one longer along that axis)."""
    out = []
    for a in range(solid.ndim):
        pad = np.pad(solid, [(1, 1) if b == a else (0, 0) for b in range(solid.ndim)])
        out.append(np.take(pad, range(pad.shape[a] - 1), axis=a) | np.take(pad, range(1, pad.shape[a]), axis=a))
    return out


def _solid_faces(solid: np.ndarray, speed: np.ndarray, velocity: list[np.ndarray]) -> None:
    """Faces touching a solid take its velocity (along axis 0: the mover's speed; others 0)."""
    masks = _face_masks(solid)
    sx = np.pad(speed, [(1, 1)] + [(0, 0)] * (solid.ndim - 1))
    velocity[0][masks[0]] = np.where(sx[:-1] != 0, sx[:-1], sx[1:])[masks[0]]
    for a in range(1, solid.ndim):
        velocity[a][masks[a]] = 0.0


def _linear_solver(cfg: SmokeConfig) -> Callable[..., tuple[np.ndarray, int, float]]:
    """``solve(A, b, x0, fluid) -> (x, iterations, setup seconds)`` for the configured method."""
    if cfg.pressure_solver == "dcdm":
        from ..linalg.dcdm import _default_net, load_model

        net = load_model(cfg.model)[0] if cfg.model else _default_net(cfg.dim)

    def solve(A: Any, b: np.ndarray, x0: np.ndarray, fluid: np.ndarray, history: list) -> tuple[np.ndarray, int, float]:
        opts = dict(rtol=cfg.rtol, maxiter=cfg.maxiter, history=history)
        start = time.perf_counter()
        if cfg.pressure_solver == "dcdm":
            from ..linalg.dcdm import dcdm

            x, info = dcdm(A, b, x0, mask=fluid, model=net, **opts)
            return x, info, 0.0
        if cfg.pressure_solver == "cg":
            x, info = cg(A, b, x0, **opts)
            return x, info, 0.0
        prepared = setup(cfg.pressure_solver, A)
        setup_s = time.perf_counter() - start
        method = {"ic0": pcg, "amg": amg, "direct": direct}[cfg.pressure_solver]
        x, info = method(A, b, x0, prepared=prepared, **opts)
        return x, info, setup_s

    return solve


def run_smoke(cfg: SmokeConfig, out: Path | None = None, progress: bool = False) -> SmokeResult:
    """Run the scene; with ``out``, write ``steps.csv``, ``summary.json``, PNG frames (3D: the
    mid-depth slice) and ``smoke.gif`` there (each file atomically)."""
    n, dt, dim = cfg.n, cfg.dt, cfg.dim
    scene = Scene(n, cfg.period, dim)
    shape = (n,) * dim
    density = np.zeros(shape)
    velocity = [np.zeros(tuple(n + (a == b) for b in range(dim))) for a in range(dim)]
    pressure = np.zeros(shape)
    source = scene.in_source()
    solve = _linear_solver(cfg)
    result = SmokeResult(cfg, density, velocity)
    frame_steps = set(np.linspace(0, cfg.steps - 1, cfg.frames).round().astype(int).tolist()) if cfg.frames else set()
    frames: list[np.ndarray] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"smoke {n}^{dim} ({cfg.pressure_solver})", unit="step", leave=False)
    up = 1  # the vertical axis
    below = tuple(slice(0, -1) if a == up else slice(None) for a in range(dim))
    above = tuple(slice(1, None) if a == up else slice(None) for a in range(dim))
    inner = tuple(slice(1, -1) if a == up else slice(None) for a in range(dim))
    for step in range(cfg.steps):
        t = (step + 1) * dt
        density = advect(density, None, velocity, dt)
        velocity = [advect(c, a, velocity, dt) for a, c in enumerate(velocity)]
        velocity[up][inner] += dt * cfg.buoyancy * 0.5 * (density[above] + density[below])
        density[source] = 1.0
        velocity[up][below][source] = cfg.source_speed
        velocity[up][above][source] = cfg.source_speed
        solid, speed = scene.solid(t)
        density[solid] = 0.0
        _solid_faces(solid, speed, velocity)
        fluid = ~solid
        A = pressure_matrix(fluid)
        b = -divergence(velocity)[fluid]
        history: list[float] = []
        start = time.perf_counter()
        p, info, setup_s = solve(A, b, pressure[fluid] if cfg.warm_start else None, fluid, history)
        solve_s = time.perf_counter() - start - setup_s
        if info != 0:
            raise SolverError(f"step {step}: the {cfg.pressure_solver} pressure solve did not reach rtol {cfg.rtol:g} "
                              f"in {cfg.maxiter} iterations (relative residual {history[-1]:.2e})")
        pressure = np.zeros(shape)
        pressure[fluid] = p
        result.last_system = (fluid, A, b)
        _project(velocity, pressure, solid)
        result.records.append(StepRecord(step, max(len(history) - 1, 0), solve_s, setup_s,
                                         float(np.linalg.norm(b - A @ p) / (np.linalg.norm(b) or 1.0)),
                                         int(fluid.sum())))
        if step in frame_steps:
            frame = np.where(solid, np.nan, density)
            frames.append(frame if dim == 2 else frame[:, :, n // 2])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(its=result.records[-1].iterations)
    if bar is not None:
        bar.close()
    result.density, result.velocity = density, velocity
    if out is not None:
        _write(Path(out), result, frames)
    return result


def _project(velocity: list[np.ndarray], p: np.ndarray, solid: np.ndarray) -> None:
    """``u -= grad p`` on faces between non-solid cells (``p = 0`` outside the grid)."""
    for a, (c, mask) in enumerate(zip(velocity, _face_masks(solid))):
        padded = np.pad(p, [(1, 1) if b == a else (0, 0) for b in range(p.ndim)])
        c -= np.where(mask, 0.0, np.diff(padded, axis=a))


def _write(out: Path, result: SmokeResult, frames: list[np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["step", "iterations", "solve_s", "setup_s", "relative_residual", "fluid_cells"])
    for r in result.records:
        writer.writerow([r.step, r.iterations, f"{r.solve_s:.6f}", f"{r.setup_s:.6f}", f"{r.residual:.3e}",
                         r.fluid_cells])
    write_text(out / "steps.csv", buf.getvalue())
    its = [r.iterations for r in result.records]
    write_json(out / "summary.json", {"config": asdict(result.config), "total_solve_s": result.total_solve_s,
                                      "iterations_mean": float(np.mean(its)), "iterations_max": int(max(its))})
    atomic_write(out / "density.npy", lambda tmp: np.save(tmp, result.density))
    images = []
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="0.6")
    for k, frame in enumerate(frames):
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(frame.T, origin="lower", cmap=cmap, vmin=0, vmax=1)
        ax.set_axis_off()
        ax.set_title(f"{result.config.pressure_solver}, frame {k}", fontsize=9)
        fig.tight_layout()
        atomic_write(out / f"frame{k:03d}.png", lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
        plt.close(fig)
    if images:
        from PIL import Image

        pics = [Image.fromarray(a) for a in images]
        atomic_write(out / "smoke.gif", lambda tmp: pics[0].save(tmp, format="GIF", save_all=True,
                                                                 append_images=pics[1:], duration=120, loop=0))
