"""``sciml benchmark linear``: the deep conjugate direction method (Kaneda et al., ICML 2023)
against CG, IC(0)-PCG, pyamg and sparse direct on pressure systems it never saw in training.

Systems at 64^2, 128^2, 256^2 and 512^2 (each its own held-out obstacle layouts):

* ``smoke``: the pressure system of step 20 of the smoke scene (``sciml simulate smoke``: two
  fixed discs and a moving one, the right-hand side minus the velocity divergence);
* ``random``: two random layouts of 1-5 discs (seeds not used in training) with white-noise
  right-hand sides (one at 512^2).

Every method solves to ``||r|| <= 1e-6 ||b||`` from zero (relative tolerance for all, unlike the
paper's test script). Iterations first (machine-independent); then set-up and solve times on
one thread, and their ratios to CG's time in the same run.

Then the smoke loop itself (``sciml simulate smoke``, 256^2, 100 steps, warm starts) with each
pressure solver: total pressure-solve time, iterations per step, and the largest difference of
the final density from the run with direct solves.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..linalg import amg, cg, direct, pcg, pressure_matrix, setup
from ..linalg.dcdm import DEFAULT_MODEL, dcdm, load_model, random_layout
from .curves import environment, save_page

SIZES = (64, 128, 256, 512)
RTOL = 1e-6
SMOKE_N, SMOKE_STEPS = 256, 100


@dataclass
class Row:
    system: str
    n: int
    method: str
    iterations: int | None
    setup_s: float
    solve_s: float
    converged: bool


def _smoke_system(n: int) -> tuple[np.ndarray, Any, np.ndarray]:
    """The pressure system of step 20 of the smoke scene at ``n^2``."""
    from ..sim.smoke import SmokeConfig, run_smoke

    result = run_smoke(SmokeConfig(n=n, steps=20, pressure_solver="direct", frames=0))
    assert result.last_system is not None
    return result.last_system


def _systems(n: int) -> list[tuple[str, np.ndarray, Any, np.ndarray]]:
    out = []
    fluid, A, b = _smoke_system(n)
    out.append(("smoke", fluid, A, b))
    rng = np.random.default_rng([777, n])
    for k in range(1 if n >= 512 else 2):
        fluid = random_layout((n, n), rng)
        A = pressure_matrix(fluid)
        out.append((f"random {k + 1}", fluid, A, rng.standard_normal(A.shape[0])))
    return out


def _methods(model: Any) -> dict[str, Callable[..., tuple[np.ndarray, int, float]]]:
    def timed(name: str) -> Callable[..., tuple[np.ndarray, int, float]]:
        def run(A: Any, b: np.ndarray, fluid: np.ndarray, history: list) -> tuple[np.ndarray, int, float]:
            start = time.perf_counter()
            prepared = setup(name, A)
            setup_s = time.perf_counter() - start
            method = {"ic0": pcg, "amg": amg, "direct": direct}[name]
            x, info = method(A, b, prepared=prepared, rtol=RTOL, maxiter=20000, history=history)
            return x, info, setup_s
        return run

    return {
        "CG": lambda A, b, fluid, history: (*cg(A, b, rtol=RTOL, maxiter=20000, history=history), 0.0),
        "IC(0)-PCG": timed("ic0"),
        "pyamg SA-CG": timed("amg"),
        "sparse direct": timed("direct"),
        "DCDM": lambda A, b, fluid, history: (*dcdm(A, b, mask=fluid, rtol=RTOL, maxiter=3000, model=model,
                                                     history=history), 0.0),
    }


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    if budget_s is not None and not quiet:
        print("note: the linear benchmark runs a fixed protocol; --budget is not used", flush=True)
    model_path = DEFAULT_MODEL[2]
    net, cfg, state = load_model(model_path)
    methods = _methods(net)
    rows: list[Row] = []
    for n in SIZES:
        for system, fluid, A, b in _systems(n):
            for name, solve in methods.items():
                history: list[float] = []
                start = time.perf_counter()
                x, info, setup_s = solve(A, b, fluid, history)
                total = time.perf_counter() - start
                converged = info == 0 and float(np.linalg.norm(b - A @ x)) <= RTOL * float(np.linalg.norm(b)) * 1.001
                its = len(history) - 1 if name != "sparse direct" else None
                rows.append(Row(system, n, name, its, setup_s, total - setup_s, converged))
                if not quiet:
                    print(f"  {n}^2 {system:9s} {name:14s} its {its} setup {setup_s:.3f} s solve {total - setup_s:.3f} s"
                          f"{'' if converged else '  NOT CONVERGED'}", flush=True)
    loop = _smoke_loop(str(model_path), quiet)
    text = _summary(rows, state) + " " + _loop_summary(loop)
    files = _write(out, rows, text, state, loop)
    print(text)
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _smoke_loop(model: str, quiet: bool) -> list[dict[str, Any]]:
    from ..sim.smoke import SmokeConfig, run_smoke

    finals, out = {}, []
    for solver in ("direct", "cg", "ic0", "amg", "dcdm"):
        start = time.perf_counter()
        result = run_smoke(SmokeConfig(n=SMOKE_N, steps=SMOKE_STEPS, pressure_solver=solver, rtol=RTOL, frames=0,
                                       model=model), progress=not quiet)
        its = [r.iterations for r in result.records]
        finals[solver] = result.density
        out.append({"solver": solver, "pressure_s": result.total_solve_s, "run_s": time.perf_counter() - start,
                    "iterations_mean": float(np.mean(its)), "iterations_max": int(max(its))})
        if not quiet:
            print(f"  smoke {SMOKE_N}^2 x {SMOKE_STEPS} with {solver}: pressure {out[-1]['pressure_s']:.1f} s, "
                  f"iterations mean {out[-1]['iterations_mean']:.1f}", flush=True)
    scale = float(np.abs(finals["direct"]).max()) or 1.0
    for row in out:
        row["density_diff_vs_direct"] = float(np.abs(finals[row["solver"]] - finals["direct"]).max()) / scale
    return out


def _loop_summary(loop: list[dict[str, Any]]) -> str:
    by = {r["solver"]: r for r in loop}
    d = by["dcdm"]
    return (f"Smoke loop at {SMOKE_N}^2, {SMOKE_STEPS} steps: pressure solves took "
            + ", ".join(f"{r['solver']} {r['pressure_s']:.1f} s ({r['iterations_mean']:.0f} it/step)" for r in loop)
            + f"; the final density with DCDM differs from the direct solves' by {d['density_diff_vs_direct']:.1e} "
              "(relative to its maximum).")


def _loop_table(loop: list[dict[str, Any]]) -> str:
    lines = ["| pressure solver | pressure-solve s | whole run s | iterations/step (mean, max) | final density vs direct |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['solver']} | {r['pressure_s']:.1f} | {r['run_s']:.1f} | {r['iterations_mean']:.1f}, "
              f"{r['iterations_max']} | {r['density_diff_vs_direct']:.1e} |" for r in loop]
    return "\n".join(lines)


def _mean_its(rows: list[Row], method: str, n: int) -> float:
    its = [r.iterations for r in rows if r.method == method and r.n == n and r.iterations is not None]
    return float(np.mean(its)) if its else float("nan")


def _table(rows: list[Row]) -> str:
    cg_time = {(r.system, r.n): r.setup_s + r.solve_s for r in rows if r.method == "CG"}
    lines = ["| n | system | method | iterations | set-up s | solve s | time / CG's | converged |",
             "|---:|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = (r.setup_s + r.solve_s) / cg_time[(r.system, r.n)]
        lines.append(f"| {r.n} | {r.system} | {r.method} | {'-' if r.iterations is None else r.iterations} | "
                     f"{r.setup_s:.3f} | {r.solve_s:.3f} | {ratio:.2f} | {'yes' if r.converged else '**no**'} |")
    return "\n".join(lines)


def _summary(rows: list[Row], state: dict[str, Any]) -> str:
    parts = []
    for n in SIZES:
        parts.append(f"{n}^2: DCDM {_mean_its(rows, 'DCDM', n):.0f}, CG {_mean_its(rows, 'CG', n):.0f}, "
                     f"IC(0)-PCG {_mean_its(rows, 'IC(0)-PCG', n):.0f}, AMG {_mean_its(rows, 'pyamg SA-CG', n):.0f}")
    growth = _mean_its(rows, "DCDM", 256) / _mean_its(rows, "DCDM", 64)
    c = state["config"]
    return (f"Mean iterations to a relative residual of 1e-6 on held-out systems ({'; '.join(parts)}). DCDM's "
            f"iterations grow {growth:.1f}x from 64^2 to 256^2 (the paper's claim: nearly independent of size). "
            f"The model: trained at {c['n']}^2 on the box and {c['layouts']} random layouts, "
            f"{state['train']['adam_steps']:,} steps in {state['train']['train_s'] / 60:.0f} min on one CPU thread.")


def _write(out: Path, rows: list[Row], text: str, state: dict[str, Any], loop: list[dict[str, Any]],
           env: dict[str, Any] | None = None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    env = env or environment()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for method in ("CG", "IC(0)-PCG", "pyamg SA-CG", "DCDM"):
        ax.loglog(SIZES, [_mean_its(rows, method, n) for n in SIZES], marker="o", label=method)
    ax.set_xlabel("grid n (n^2 cells)")
    ax.set_ylabel("iterations to 1e-6 (mean over systems)")
    ax.set_xticks(SIZES, [str(n) for n in SIZES])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    monitor = state.get("monitor") or []
    if monitor:
        t = [m["train_s"] / 60 for m in monitor]
        for key in monitor[0]["iterations"]:
            bx.plot(t, [m["iterations"][key]["dcdm"] or np.nan for m in monitor], marker=".",
                    label=f"DCDM at {key}^2 (CG {monitor[0]['iterations'][key]['cg']})")
        bx.set_xlabel("training time [min]")
        bx.set_ylabel("iterations on a held-out system")
        bx.grid(True, alpha=0.3)
        bx.legend(fontsize=8)
    fig.tight_layout()
    payload = {"meta": env, "rows": [asdict(r) for r in rows], "model": {k: state[k] for k in ("config", "n_params")},
               "monitor": monitor, "smoke_loop": loop}
    return save_page(out, "linear", "DCDM vs CG, IC(0)-PCG, pyamg and direct on held-out pressure systems", fig,
                     [text, "", _table(rows), "", f"Smoke loop ({SMOKE_N}^2, {SMOKE_STEPS} steps, warm starts, rtol 1e-6):",
                      "", _loop_table(loop), ""], "iterations vs grid size, and vs training time", payload, env)
