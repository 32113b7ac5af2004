"""A 2D incompressible smoke plume on a MAC grid around obstacles, one of which moves: the
simulation loop in which the deep conjugate direction method replaces the pressure solver
(Kaneda et al., ICML 2023, test their networks on such smoke scenes).

Each step (grid units: cell size 1, velocities in cells per time unit):

1. semi-Lagrangian advection (midpoint back-trace, bilinear interpolation) of the density and
   both face velocities (Stam 1999);
2. buoyancy ``v += dt * buoyancy * density`` and a density/velocity source near the bottom;
3. the obstacle moves; faces touching a solid cell take the solid's velocity;
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
    n
        Cells per axis.
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
    u: np.ndarray
    v: np.ndarray
    records: list[StepRecord] = field(default_factory=list)
    last_system: tuple[np.ndarray, Any, np.ndarray] | None = None  # (fluid, A, b) of the final step

    @property
    def total_solve_s(self) -> float:
        return float(sum(r.solve_s + r.setup_s for r in self.records))


class Scene:
    """The static obstacles, the moving one and the source, in grid units."""

    def __init__(self, n: int, period: float):
        self.n, self.period = n, period
        self.static = [(0.3 * n, 0.55 * n, 0.07 * n), (0.72 * n, 0.38 * n, 0.06 * n)]
        self.moving_radius = 0.08 * n
        self.source = (0.5 * n, 0.1 * n, 0.06 * n)
        self.x, self.y = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5, indexing="ij")

    def moving(self, t: float) -> tuple[float, float, float]:
        """Centre and horizontal velocity of the moving obstacle at time ``t``."""
        w = 2 * math.pi / self.period
        return (self.n * (0.5 + 0.22 * math.sin(w * t)), 0.75 * self.n, self.n * 0.22 * w * math.cos(w * t))

    def solid(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The solid cells and, on them, the solid's x velocity."""
        solid = np.zeros((self.n, self.n), dtype=bool)
        for cx, cy, r in self.static:
            solid |= (self.x - cx) ** 2 + (self.y - cy) ** 2 < r**2
        cx, cy, speed = self.moving(t)
        mover = (self.x - cx) ** 2 + (self.y - cy) ** 2 < self.moving_radius**2
        return solid | mover, np.where(mover, speed, 0.0)

    def in_source(self) -> np.ndarray:
        cx, cy, r = self.source
        return (self.x - cx) ** 2 + (self.y - cy) ** 2 < r**2


def _sample(q: np.ndarray, x: np.ndarray, y: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """Bilinear samples of ``q`` (stored at ``(i + offset_x, j + offset_y)``) at points
    ``(x, y)``, clamped to the grid."""
    return map_coordinates(q, [x - offset[0], y - offset[1]], order=1, mode="nearest")


OFFSETS = {"c": (0.5, 0.5), "u": (0.0, 0.5), "v": (0.5, 0.0)}


def advect(q: np.ndarray, kind: str, u: np.ndarray, v: np.ndarray, dt: float) -> np.ndarray:
    """Semi-Lagrangian advection of ``q`` (cell centres ``c`` or faces ``u``/``v``) by the MAC
    velocity with a midpoint back-trace."""
    ox, oy = OFFSETS[kind]
    x, y = np.meshgrid(np.arange(q.shape[0]) + ox, np.arange(q.shape[1]) + oy, indexing="ij")

    def vel(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _sample(u, px, py, OFFSETS["u"]), _sample(v, px, py, OFFSETS["v"])

    ux, uy = vel(x, y)
    mx, my = vel(x - 0.5 * dt * ux, y - 0.5 * dt * uy)
    return _sample(q, x - dt * mx, y - dt * my, (ox, oy))


def divergence(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[1:, :] - u[:-1, :] + v[:, 1:] - v[:, :-1]


def _face_masks(solid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces touching a solid cell (x faces ``(n+1, n)``, y faces ``(n, n+1)``)."""
    padx = np.pad(solid, ((1, 1), (0, 0)))
    pady = np.pad(solid, ((0, 0), (1, 1)))
    return padx[:-1] | padx[1:], pady[:, :-1] | pady[:, 1:]


def _solid_faces(solid: np.ndarray, speed: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Faces touching a solid take its velocity (x: the mover's speed, y: 0)."""
    fu, fv = _face_masks(solid)
    sx = np.pad(speed, ((1, 1), (0, 0)))
    u[fu] = np.where(sx[:-1] != 0, sx[:-1], sx[1:])[fu]
    v[fv] = 0.0


def _linear_solver(cfg: SmokeConfig) -> Callable[..., tuple[np.ndarray, int, float]]:
    """``solve(A, b, x0, fluid) -> (x, iterations, setup seconds)`` for the configured method."""
    if cfg.pressure_solver == "dcdm":
        from ..linalg.dcdm import _default_net, load_model

        net = load_model(cfg.model)[0] if cfg.model else _default_net(2)

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
    """Run the scene; with ``out``, write ``steps.csv``, ``summary.json``, PNG frames and
    ``smoke.gif`` there (each file atomically)."""
    n, dt = cfg.n, cfg.dt
    scene = Scene(n, cfg.period)
    density = np.zeros((n, n))
    u, v = np.zeros((n + 1, n)), np.zeros((n, n + 1))
    pressure = np.zeros((n, n))
    source = scene.in_source()
    solve = _linear_solver(cfg)
    result = SmokeResult(cfg, density, u, v)
    frame_steps = set(np.linspace(0, cfg.steps - 1, cfg.frames).round().astype(int).tolist()) if cfg.frames else set()
    frames: list[np.ndarray] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"smoke {n}^2 ({cfg.pressure_solver})", unit="step", leave=False)
    for step in range(cfg.steps):
        t = (step + 1) * dt
        density = advect(density, "c", u, v, dt)
        u, v = advect(u, "u", u, v, dt), advect(v, "v", u, v, dt)
        v[:, 1:-1] += dt * cfg.buoyancy * 0.5 * (density[:, 1:] + density[:, :-1])
        density[source] = 1.0
        v[:, :-1][source] = cfg.source_speed
        v[:, 1:][source] = cfg.source_speed
        solid, speed = scene.solid(t)
        density[solid] = 0.0
        _solid_faces(solid, speed, u, v)
        fluid = ~solid
        A = pressure_matrix(fluid)
        b = -divergence(u, v)[fluid]
        history: list[float] = []
        start = time.perf_counter()
        p, info, setup_s = solve(A, b, pressure[fluid] if cfg.warm_start else None, fluid, history)
        solve_s = time.perf_counter() - start - setup_s
        if info != 0:
            raise SolverError(f"step {step}: the {cfg.pressure_solver} pressure solve did not reach rtol {cfg.rtol:g} "
                              f"in {cfg.maxiter} iterations (relative residual {history[-1]:.2e})")
        pressure = np.zeros((n, n))
        pressure[fluid] = p
        result.last_system = (fluid, A, b)
        _project(u, v, pressure, solid)
        result.records.append(StepRecord(step, max(len(history) - 1, 0), solve_s, setup_s,
                                         float(np.linalg.norm(b - A @ p) / (np.linalg.norm(b) or 1.0)),
                                         int(fluid.sum())))
        if step in frame_steps:
            frames.append(np.where(solid, np.nan, density))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(its=result.records[-1].iterations)
    if bar is not None:
        bar.close()
    result.density, result.u, result.v = density, u, v
    if out is not None:
        _write(Path(out), result, frames)
    return result


def _project(u: np.ndarray, v: np.ndarray, p: np.ndarray, solid: np.ndarray) -> None:
    """``u -= grad p`` on faces between non-solid cells (``p = 0`` outside the grid)."""
    fu, fv = _face_masks(solid)
    px = np.pad(p, ((1, 1), (0, 0)))
    py = np.pad(p, ((0, 0), (1, 1)))
    u -= np.where(fu, 0.0, px[1:] - px[:-1])
    v -= np.where(fv, 0.0, py[:, 1:] - py[:, :-1])


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
