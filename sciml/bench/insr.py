"""``sciml benchmark insr``: implicit neural spatial representations (Chen, Wu, Grinspun, Zheng
& Chen, ICML 2023) against grid schemes.

* 1D advection exactly as the paper's example (SIREN 2 x 20 = 901 weights, midpoint rule,
  dt = 0.05, 5,000 samples per iteration) with a cap of 300 iterations per step, run to the
  paper's t = 12 (240 steps); max and RMS errors against the translated Gaussian at t = 0.5, 2
  and 12, beside the semi-Lagrangian grid scheme with as many unknowns as INSR has weights
  (901) and with 101.
* 2D advection of a Gaussian at equal memory: INSR (SIREN 3 x 32 = 3,297 weights; 300 and
  1,000 iterations per step) against the semi-Lagrangian grid scheme on grids from 33^2 to
  129^2 nodes, the 57^2 = 3,249-node grid having INSR's size; errors at t = 1 (20 steps).
* Taylor-Green vortex, incompressible Euler by Chorin splitting (three fits of 500 iterations
  per step, the problem file's setting): velocity drift from the exact steady field and
  divergence RMS after every step.

Every run reports its parameter count and time per step. The protocol is fixed (``--budget``
is not used): about 35 minutes on one thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..problems import Problem, load_problem
from ..reference.semilagrangian import semi_lagrangian
from ..shipped import problems_folder
from ..solution import relative_l2
from ..solvers.insr import INSRSolver
from .curves import environment, save_page

SHIPPED = problems_folder()
ADVECTION_TIMES = (0.5, 2.0, 12.0)
GRIDS_2D = (33, 47, 57, 65, 81, 129)
ITERS_2D = (300, 1000)


@dataclass
class Row:
    """One run: the method, its size and cost, and its errors at the reported times."""

    case: str
    method: str
    size: int
    time_s: float
    step_s: float
    errors: dict[str, float] = field(default_factory=dict)
    notes: str = ""


def _space_grid(problem: Problem, n: int) -> np.ndarray:
    lo, hi = problem.domain.bounds
    axes = [np.linspace(lo[i], hi[i], n) for i in range(problem.dim)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, problem.dim)


def _errors(problem: Problem, evaluate: Any, space: np.ndarray, t: float) -> tuple[float, float, float]:
    """Max error, RMS error and relative L2 error of ``evaluate`` at time ``t``."""
    q = np.column_stack([space, np.full(len(space), t)])
    u, ex = evaluate(q), problem.exact_values(q)
    err = u - ex
    return float(np.abs(err).max()), float(np.sqrt(np.mean(err ** 2))), relative_l2(u, ex)


def _insr(problem: Problem, options: dict[str, Any], quiet: bool, callback: Any = None) -> Any:
    torch.manual_seed(0)
    return INSRSolver(callback=callback, progress=not quiet, seed=0, **options).solve(problem)


def _advection_1d(quiet: bool) -> tuple[list[Row], dict[str, Any]]:
    problem = load_problem(SHIPPED / "advection-gaussian-1d.toml")
    space = _space_grid(problem, 1001)
    curve: list[tuple[float, float]] = []

    def track(step: int, net: Any) -> None:
        t = problem.time.start + step * 0.05
        with torch.no_grad():
            u = net(torch.as_tensor(space, dtype=torch.float32)).double().numpy()
        ex = problem.exact_values(np.column_stack([space, np.full(len(space), t)]))
        curve.append((t, float(np.abs(u - ex).max())))

    def at_times(evaluate: Any) -> dict[str, float]:
        out = {}
        for t in ADVECTION_TIMES:
            mx, rms, _ = _errors(problem, evaluate, space, t)
            out |= {f"max t={t:g}": mx, f"rms t={t:g}": rms}
        return out

    sol = _insr(problem, {}, quiet, track)
    rows = [Row("advection 1D", "insr", sol.info["n_params"], sol.info["train_s"], sol.info["mean_step_s"],
                at_times(sol), f"{sol.info['iters_per_step']} iterations per step")]
    for n in (901, 101):
        grid = semi_lagrangian(problem, n, 0.05, n_out=241)  # every step kept: no interpolation in time
        rows.append(Row("advection 1D", "semi-Lagrangian grid", n, grid.info["time_s"],
                        grid.info["time_s"] / grid.info["steps"], at_times(grid)))
    if not quiet:
        print(_table(rows, "max"), flush=True)
    return rows, {"curve": curve}


def _advection_2d(quiet: bool) -> tuple[list[Row], dict[str, Any]]:
    problem = load_problem(SHIPPED / "advection-gaussian-2d.toml")
    space = _space_grid(problem, 101)
    end = problem.time.end
    rows = []
    for iters in ITERS_2D:
        sol = _insr(problem, {"iters": iters}, quiet)
        mx, _, rel = _errors(problem, sol, space, end)
        rows.append(Row("advection 2D", "insr", sol.info["n_params"], sol.info["train_s"], sol.info["mean_step_s"],
                        {"max": mx, "rel L2": rel}, f"{iters} iterations per step"))
        if not quiet:
            print(_table(rows[-1:], "rel"), flush=True)
    for n in GRIDS_2D:
        grid = semi_lagrangian(problem, n, 0.05)
        mx, _, rel = _errors(problem, grid, space, end)
        rows.append(Row("advection 2D", "semi-Lagrangian grid", n * n, grid.info["time_s"],
                        grid.info["time_s"] / grid.info["steps"], {"max": mx, "rel L2": rel}, f"{n} x {n} nodes"))
    return rows, {}


def _taylor_green(quiet: bool) -> tuple[list[Row], dict[str, Any]]:
    problem = load_problem(SHIPPED / "euler-taylor-green.toml")
    space = _space_grid(problem, 65)
    exact = problem.exact_values(np.column_stack([space, np.zeros(len(space))]))
    drift: list[float] = []

    def track(step: int, net: Any) -> None:
        with torch.no_grad():
            u = net(torch.as_tensor(space, dtype=torch.float32)).double().numpy()
        drift.append(relative_l2(u, exact))

    sol = _insr(problem, {}, quiet, track)
    divergence = [h["div_rms"] for h in sol.info["history"][1:]]
    row = Row("Taylor-Green", "insr", sol.info["n_params"], sol.info["train_s"], sol.info["mean_step_s"],
              {"drift step 1": drift[0], "drift step 10": drift[-1], "div RMS step 10": divergence[-1]},
              "3 fits x 500 iterations per step (the problem file); velocity + pressure SIRENs")
    if not quiet:
        print(_table([row], "drift"), flush=True)
    return [row], {"drift": drift, "divergence": divergence}


def _table(rows: list[Row], kind: str) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r.errors))
    head = "| case | method | weights / unknowns | time s | s per step | " + " | ".join(keys) + " | notes |"
    lines = [head, "|---|---|---:|---:|---:|" + "---:|" * len(keys) + "---|"]
    for r in rows:
        errs = " | ".join(f"{r.errors[k]:.2e}" if k in r.errors else "" for k in keys)
        lines.append(f"| {r.case} | {r.method} | {r.size:,} | {r.time_s:.1f} | {r.step_s:.3g} | {errs} | {r.notes} |")
    return "\n".join(lines)


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    if budget_s is not None and not quiet:
        print("note: the insr benchmark runs a fixed protocol; --budget is not used", flush=True)
    one, one_data = _advection_1d(quiet)
    two, _ = _advection_2d(quiet)
    tg, tg_data = _taylor_green(quiet)
    text = _summary(one, two, tg, tg_data)
    files = _write(out, one, two, tg, one_data, tg_data, text)
    print(text)
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _summary(one: list[Row], two: list[Row], tg: list[Row], tg_data: dict[str, Any]) -> str:
    insr1 = one[0]
    insr2 = [r for r in two if r.method == "insr"]
    equal = next(r for r in two if r.method != "insr" and r.size == 57 * 57)
    beaten_by = [r for r in two if r.method != "insr" and r.errors["rel L2"] <= min(i.errors["rel L2"] for i in insr2)]
    smallest = min(beaten_by, key=lambda r: r.size) if beaten_by else None
    parts = [
        f"1D advection (paper setup, {insr1.notes}): max error {insr1.errors['max t=0.5']:.2e} at t = 0.5, "
        f"{insr1.errors['max t=2']:.2e} at t = 2 and {insr1.errors['max t=12']:.2e} at t = 12, "
        f"{insr1.step_s:.1f} s per step ({insr1.time_s / 60:.1f} min in all); the 901-node semi-Lagrangian grid: "
        f"{one[1].errors['max t=12']:.2e} at t = 12 in {one[1].time_s:.2f} s.",
        "2D advection at equal memory: INSR (" + ", ".join(
            f"{r.notes}: rel L2 {r.errors['rel L2']:.2e}, {r.time_s / 60:.1f} min" for r in insr2)
        + f") vs the {equal.notes} grid ({equal.size:,} unknowns): {equal.errors['rel L2']:.2e} in "
        f"{equal.time_s:.2f} s."
        + (f" The smallest grid at least as accurate as the best INSR run has {smallest.size:,} unknowns." if smallest
           else " INSR is more accurate than every grid tried (up to 129^2 nodes)."),
        f"Taylor-Green: velocity drift {tg[0].errors['drift step 1']:.2e} after one step, "
        f"{tg[0].errors['drift step 10']:.2e} after ten; divergence RMS {tg[0].errors['div RMS step 10']:.2e} "
        f"(the velocity gradient is O(1)); {tg[0].step_s:.1f} s per step.",
    ]
    return " ".join(parts)


def _write(out: Path, one: list[Row], two: list[Row], tg: list[Row], one_data: dict[str, Any],
           tg_data: dict[str, Any], text: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = environment()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    t, e = zip(*one_data["curve"])
    ax.semilogy(t, e, label=f"INSR ({one[0].size} weights)")
    for r in one[1:]:
        ax.semilogy(ADVECTION_TIMES, [r.errors[f"max t={s:g}"] for s in ADVECTION_TIMES], "o--",
                    label=f"semi-Lagrangian, {r.size} nodes")
    ax.set_xlabel("t")
    ax.set_ylabel("max error")
    ax.set_title("1D advection (paper setup)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    grids = [r for r in two if r.method != "insr"]
    ax.loglog([r.size for r in grids], [r.errors["rel L2"] for r in grids], "o-", label="semi-Lagrangian grid")
    for r in (r for r in two if r.method == "insr"):
        ax.loglog([r.size], [r.errors["rel L2"]], "s", ms=8, label=f"INSR, {r.notes}")
    ax.set_xlabel("unknowns (grid nodes / network weights)")
    ax.set_ylabel("relative L2 error at t = 1")
    ax.set_title("2D advection at equal memory", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[2]
    steps = np.arange(1, len(tg_data["drift"]) + 1)
    ax.semilogy(steps, tg_data["drift"], "o-", label="velocity drift (rel L2)")
    ax.semilogy(steps, tg_data["divergence"], "s-", label="divergence RMS")
    ax.set_xlabel("time step")
    ax.set_title("Taylor-Green vortex (steady)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    body = [text, "", "## 1D advection", "", _table(one, "max"), "", "## 2D advection at equal memory", "",
            _table(two, "rel"), "", "## Taylor-Green vortex", "", _table(tg, "drift"), "",
            "Drift after each step: " + ", ".join(f"{d:.2e}" for d in tg_data["drift"]) + ".", "",
            "Divergence RMS after each step: " + ", ".join(f"{d:.2e}" for d in tg_data["divergence"]) + ".", ""]
    payload = {"meta": env, "rows": [asdict(r) for r in one + two + tg], "advection_1d_curve": one_data["curve"],
               "taylor_green": {"drift": tg_data["drift"], "divergence": tg_data["divergence"]}}
    return save_page(out, "insr", "INSR: neural fields time-stepped by optimisation vs grid schemes", fig, body,
                     "errors over time, at equal memory, and Taylor-Green drift", payload, env)
