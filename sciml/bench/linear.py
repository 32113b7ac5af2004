"""``sciml benchmark linear``: the deep conjugate direction method (Kaneda et al., ICML 2023)
against CG, IC(0)-PCG, pyamg and sparse direct on pressure systems it never saw in training.

Systems at 64^2 ... 1024^2 and, in 3D, 32^3 and 64^3 (each its own held-out obstacle layouts):

* ``smoke``: the pressure system of step 20 of the smoke scene (``sciml simulate smoke``: two
  fixed obstacles and a moving one, the right-hand side minus the velocity divergence);
* ``random``: random layouts of 1-5 discs or balls (seeds not used in training) with
  white-noise right-hand sides (two below 512^2, one from there).

Every method solves to ``||r|| <= 1e-6 ||b||`` from zero (relative tolerance for all, unlike the
paper's test script); DCDM is stopped at CG's iteration count on the same system (a row marked
not converged: it needed more iterations than CG, each costing more), and DCDM with bfloat16
calls also at twice the float32 count (a bfloat16 call costs 0.4-0.6 of a float32 one, so past
that it is slower than the float32 run; a model that loses its accuracy in bfloat16 would
otherwise spend up to CG's count of calls: 2,797 at 1024^2, about 45 minutes). Reported:
iterations (machine-independent), set-up and solve seconds on one thread, milliseconds per
iteration, and the time relative to CG's in the same run. IC(0) runs
compiled (numba) when installed (the page says which); pyamg's and IC(0)'s set-ups are timed
apart. DCDM runs with the shipped model of the dimension (or the model file given by
``--set model=FILE``, which replaces the model of its dimension, in the smoke loop too), its
network called in float32 and in bfloat16; the milliseconds of one network call are measured
apart and set beside CG's milliseconds per iteration.

Then the smoke loop (``sciml simulate smoke``, 512^2, 100 steps, warm starts) with each pressure
solver: total pressure time (set-ups counted again at every step, since the matrix changes),
iterations per step, and the largest difference of the final density from the direct solves'.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..linalg import amg, cg, direct, pcg, pressure_matrix, setup
from ..linalg.dcdm import DEFAULT_MODEL, dcdm, load_model, network_direction, random_layout
from .curves import environment, save_page

SIZES = {2: (64, 128, 256, 512, 1024), 3: (32, 64)}
RTOL = 1e-6
SMOKE_N, SMOKE_STEPS = 512, 100


@dataclass
class Row:
    system: str
    n: int
    method: str
    iterations: int | None
    setup_s: float
    solve_s: float
    converged: bool
    dim: int = 2

    @property
    def ms_per_iteration(self) -> float | None:
        return 1e3 * self.solve_s / self.iterations if self.iterations else None


def _smoke_system(n: int, dim: int) -> tuple[np.ndarray, Any, np.ndarray]:
    """The pressure system of step 20 of the smoke scene at ``n^dim`` (its earlier steps solved
    by IC(0)-PCG to 1e-10)."""
    from ..sim.smoke import SmokeConfig, run_smoke

    result = run_smoke(SmokeConfig(n=n, dim=dim, steps=20, pressure_solver="ic0", rtol=1e-10, maxiter=20000,
                                   frames=0))
    assert result.last_system is not None
    return result.last_system


def _systems(n: int, dim: int) -> list[tuple[str, np.ndarray, Any, np.ndarray]]:
    out = []
    fluid, A, b = _smoke_system(n, dim)
    out.append(("smoke", fluid, A, b))
    rng = np.random.default_rng([777, n, dim])
    for k in range(1 if n ** dim >= 512**2 else 2):
        fluid = random_layout((n,) * dim, rng)
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

    def deep(precision: str) -> Callable[..., tuple[np.ndarray, int, float]]:
        def run(A: Any, b: np.ndarray, fluid: np.ndarray, history: list, cap: int = 3000) -> tuple[np.ndarray, int, float]:
            return (*dcdm(A, b, mask=fluid, rtol=RTOL, maxiter=cap, model=model, history=history,
                          precision=precision), 0.0)
        return run

    methods = {
        "CG": lambda A, b, fluid, history: (*cg(A, b, rtol=RTOL, maxiter=20000, history=history), 0.0),
        "IC(0)-PCG": timed("ic0"),
        "pyamg SA-CG": timed("amg"),
        "sparse direct": timed("direct"),
    }
    if model is not None:
        methods.update({"DCDM": deep("float32"), "DCDM bf16": deep("bfloat16")})
    return methods


def _call_ms(model: Any, fluid: np.ndarray, precision: str, repeats: int = 5) -> float:
    """Median milliseconds of one network call (after a warm-up call)."""
    direction = network_direction(model, fluid, precision)
    r = np.random.default_rng(0).standard_normal(int(fluid.sum()))
    direction(r)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        direction(r)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _models(model_file: str | None) -> dict[int, tuple[Any, dict[str, Any] | None]]:
    """The network and record per dimension: the shipped models, the one in ``model_file``
    replacing the shipped model of its dimension."""
    models: dict[int, tuple[Any, dict[str, Any] | None]] = {}
    for dim in SIZES:
        path = DEFAULT_MODEL.get(dim)
        if path is not None and path.is_file():
            net, _, state = load_model(path)
            models[dim] = (net, state)
        else:
            models[dim] = (None, None)
    if model_file:
        net, cfg, state = load_model(model_file)
        models[cfg.dim] = (net, {**state, "file": str(model_file)})
    return models


def run(out: Path, budget_s: float | None, quiet: bool = False, model_file: str | None = None) -> int:
    if budget_s is not None and not quiet:
        print("note: the linear benchmark runs a fixed protocol; --budget is not used", flush=True)
    rows: list[Row] = []
    calls: list[dict[str, Any]] = []
    models = _models(model_file)
    for dim, sizes in SIZES.items():
        net, _ = models[dim]
        methods = _methods(net)
        for n in sizes:
            for system, fluid, A, b in _systems(n, dim):
                cg_its = f32_its = 3000
                for name, solve in methods.items():
                    if name == "sparse direct" and dim == 3 and n > 32:
                        continue  # SuperLU's fill-in in 3D: minutes and gigabytes at 64^3
                    history: list[float] = []
                    start = time.perf_counter()
                    if name.startswith("DCDM"):  # stopped where it has lost anyway (see the module docstring)
                        cap = cg_its if name == "DCDM" else min(cg_its, 2 * f32_its)
                        x, info, setup_s = solve(A, b, fluid, history, cap=cap)
                    else:
                        x, info, setup_s = solve(A, b, fluid, history)
                    total = time.perf_counter() - start
                    converged = info == 0 and float(np.linalg.norm(b - A @ x)) <= RTOL * float(np.linalg.norm(b)) * 1.001
                    its = len(history) - 1 if name != "sparse direct" else None
                    if name == "CG":
                        cg_its = max(int(its or 0), 1)
                    elif name == "DCDM":
                        f32_its = max(int(its or 0), 1)
                    rows.append(Row(system, n, name, its, setup_s, total - setup_s, converged, dim))
                    if not quiet:
                        print(f"  {n}^{dim} {system:9s} {name:14s} its {its} setup {setup_s:.3f} s solve "
                              f"{total - setup_s:.3f} s{'' if converged else '  NOT CONVERGED'}", flush=True)
            if net is not None:
                fluid = _systems_fluid(n, dim)
                calls.append({"dim": dim, "n": n, **{p: _call_ms(net, fluid, p) for p in ("float32", "bfloat16")}})
    loop = _smoke_loop(quiet, models[2][1].get("file") if models[2][1] else None)
    text = _summary(rows, models) + " " + _loop_summary(loop)
    files = _write(out, rows, calls, text, models, loop)
    print(text)
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _systems_fluid(n: int, dim: int) -> np.ndarray:
    return random_layout((n,) * dim, np.random.default_rng([888, n, dim]))


def _smoke_loop(quiet: bool, model_file: str | None = None) -> list[dict[str, Any]]:
    from ..sim.smoke import SmokeConfig, run_smoke

    finals, out = {}, []
    for solver in ("direct", "cg", "ic0", "amg", "dcdm"):
        start = time.perf_counter()
        result = run_smoke(SmokeConfig(n=SMOKE_N, steps=SMOKE_STEPS, pressure_solver=solver, rtol=RTOL, frames=0,
                                       model=model_file),
                           progress=not quiet)
        its = [r.iterations for r in result.records]
        finals[solver] = result.density
        out.append({"solver": solver, "pressure_s": result.total_solve_s,
                    "setup_s": float(sum(r.setup_s for r in result.records)), "run_s": time.perf_counter() - start,
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
    lines = ["| pressure solver | pressure-solve s (set-ups) | whole run s | iterations/step (mean, max) | "
             "final density vs direct |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['solver']} | {r['pressure_s']:.1f} ({r['setup_s']:.1f}) | {r['run_s']:.1f} | "
              f"{r['iterations_mean']:.1f}, {r['iterations_max']} | {r['density_diff_vs_direct']:.1e} |" for r in loop]
    return "\n".join(lines)


def _mean_its(rows: list[Row], method: str, n: int, dim: int = 2) -> float:
    """Mean iterations of the converged runs (NaN when none; and when a run did not converge
    within its cap, so that a capped count is never averaged as if it had)."""
    mine = [r for r in rows if r.method == method and r.n == n and r.dim == dim and r.iterations is not None]
    if not mine or not all(r.converged for r in mine):
        return float("nan")
    return float(np.mean([r.iterations for r in mine]))


def _table(rows: list[Row]) -> str:
    cg_time = {(r.system, r.n, r.dim): r.setup_s + r.solve_s for r in rows if r.method == "CG"}
    lines = ["| grid | system | method | iterations | set-up s | solve s | ms / iteration | time / CG's | converged |",
             "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = (r.setup_s + r.solve_s) / cg_time[(r.system, r.n, r.dim)]
        per = "-" if r.ms_per_iteration is None else f"{r.ms_per_iteration:.2f}"
        lines.append(f"| {r.n}^{r.dim} | {r.system} | {r.method} | {'-' if r.iterations is None else r.iterations} | "
                     f"{r.setup_s:.3f} | {r.solve_s:.3f} | {per} | {ratio:.2f} | {'yes' if r.converged else '**no**'} |")
    return "\n".join(lines)


def _calls_table(rows: list[Row], calls: list[dict[str, Any]]) -> str:
    lines = ["| grid | network call ms (float32) | (bfloat16) | CG ms / iteration |", "|---:|---:|---:|---:|"]
    for c in calls:
        cg_ms = [r.ms_per_iteration for r in rows if r.method == "CG" and r.n == c["n"] and r.dim == c["dim"]]
        lines.append(f"| {c['n']}^{c['dim']} | {c['float32']:.1f} | {c['bfloat16']:.1f} | "
                     f"{np.mean([m for m in cg_ms if m]):.2f} |")
    return "\n".join(lines)


def _fmt(value: float, spec: str = ".0f") -> str:
    return "n/a" if not np.isfinite(value) else format(value, spec)


def _its_text(rows: list[Row], method: str, n: int, dim: int) -> str:
    mine = [r for r in rows if r.method == method and r.n == n and r.dim == dim]
    if any(not r.converged for r in mine):
        return "more than CG" if method.startswith("DCDM") else "not converged"
    return _fmt(_mean_its(rows, method, n, dim))


def _summary(rows: list[Row], models: dict[int, tuple[Any, dict[str, Any] | None]]) -> str:
    from ..linalg.precond import ic0_implementation

    parts = []
    for dim, sizes in SIZES.items():
        for n in sizes:
            parts.append(f"{n}^{dim}: " + ", ".join(
                f"{label} {_its_text(rows, method, n, dim)}" for label, method in
                (("DCDM", "DCDM"), ("CG", "CG"), ("IC(0)-PCG", "IC(0)-PCG"), ("AMG", "pyamg SA-CG"))))
    growth = _mean_its(rows, "DCDM", 1024) / _mean_its(rows, "DCDM", 128)
    text = (f"Mean iterations to a relative residual of 1e-6 on held-out systems ({'; '.join(parts)}). DCDM's "
            f"iterations grow {_fmt(growth, '.2f')}x from 128^2 to 1024^2 (the paper's claim: nearly independent of "
            f"size). IC(0) ran {ic0_implementation()}.")
    for dim, (net, state) in models.items():
        if state is None:
            text += f" No {dim}D DCDM model is shipped: its rows are missing."
            continue
        c = state["config"]
        levels = c.get("levels", 1)
        kept = (f" (the weights of step {state['selected_step']:,}, the fewest held-out iterations)"
                if state.get("selected_step") is not None else "")
        text += (f" The {dim}D model{' ' + state['file'] if state.get('file') else ''}: "
                 f"{'as many pooling levels as the grid allows' if levels == 0 else f'{levels} pooling level(s)'}, "
                 f"{c['fine_pairs']} / {c['coarse_pairs']} / {c['up_pairs']} residual pairs, trained at "
                 f"{c['n']}^{dim} on the box and {c['layouts']} random layouts"
                 f"{' (started from ' + c['init'] + ')' if c.get('init') else ''}, {state['train']['adam_steps']:,} steps "
                 f"in {state['train']['train_s'] / 60:.0f} min on one CPU thread{kept}.")
    return text


def _write(out: Path, rows: list[Row], calls: list[dict[str, Any]], text: str,
           models: dict[int, tuple[Any, dict[str, Any] | None]], loop: list[dict[str, Any]],
           env: dict[str, Any] | None = None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    env = env or environment()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for method in ("CG", "IC(0)-PCG", "pyamg SA-CG", "DCDM"):
        for dim, sizes in SIZES.items():
            cells = [n**dim for n in sizes]
            ax.loglog(cells, [_mean_its(rows, method, n, dim) for n in sizes], marker="o" if dim == 2 else "s",
                      linestyle="-" if dim == 2 else ":", label=f"{method} ({dim}D)")
    ax.set_xlabel("unknowns (cells)")
    ax.set_ylabel("iterations to 1e-6 (mean over systems)")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    state = models[2][1] or {}
    monitor = state.get("monitor") or []
    if monitor:
        t = [m["train_s"] / 60 for m in monitor]
        for key in monitor[0]["iterations"]:
            bx.plot(t, [m["iterations"][key]["dcdm"] or np.nan for m in monitor], marker=".",
                    label=f"DCDM at {key}^2 (CG {monitor[0]['iterations'][key]['cg']})")
        bx.set_xlabel("training time of the 2D model [min]")
        bx.set_ylabel("iterations on a held-out system")
        bx.grid(True, alpha=0.3)
        bx.legend(fontsize=8)
    fig.tight_layout()
    payload = {"meta": env, "rows": [{**asdict(r), "ms_per_iteration": r.ms_per_iteration} for r in rows],
               "network_calls_ms": calls,
               "models": {dim: {k: st[k] for k in ("config", "n_params")} for dim, (_, st) in models.items() if st},
               "monitor": monitor, "smoke_loop": loop}
    return save_page(out, "linear", "DCDM vs CG, IC(0)-PCG, pyamg and direct on held-out pressure systems", fig,
                     [text, "", _table(rows), "", "Network calls against CG iterations (one thread):", "",
                      _calls_table(rows, calls), "",
                      f"Smoke loop ({SMOKE_N}^2, {SMOKE_STEPS} steps, warm starts, rtol 1e-6):", "", _loop_table(loop), ""],
                     "iterations vs unknowns, and vs training time", payload, env)
