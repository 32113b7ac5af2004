"""``sciml benchmark peers``: our solvers and the libraries people use today, back to back in one
process on the same machine, reported as ratios.

* PINN problems (``poisson-lshape``, ``helmholtz-square``, ``burgers``): ``pinn``, ``pig`` and
  DeepXDE's PINN with the same wall-clock budget, the error sampled over training time;
  ``hypino`` (zero-shot plus three refinement steps, no training) as one point on the steady
  linear ones.
* Operator learning (the antiderivative and the forced pendulum, 10,000 / 1,000 functions): our
  DeepONet and DeepXDE's with the same data, architecture and iterations.
* Linear systems (held-out 128^2 pressure systems of ``sciml benchmark linear``): DCDM against
  SciPy-style CG, IC(0)-PCG (SciPy's ``spilu`` does not give a convergent CG preconditioner here,
  see docs/deep-cg.md; IC(0) is ILU(0) for these symmetric matrices), pyamg and sparse direct.
* Darcy flow (MgNO against neuraloperator's FNO at 64^2) takes 45 minutes on its own: its curves
  are read from ``sciml benchmark mgno``'s JSON (the same machine, run separately; its date is
  shown).

Ratios: our error over the peer's at equal wall time (the best each reached by the shorter
run's end), and our time over the peer's at equal error (the time ours first reached the
peer's final error, over the peer's whole run).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..nn.fit import evaluator
from ..nn.trainer import TrainingDiverged
from ..problems import load_problem
from ..runner import run as run_solver
from ..solution import relative_l2
from .curves import Curve, Entry, best_by, environment, save_page
from .peers import deepxde_pinn

PINN_PROBLEMS = {"poisson-lshape": ("pinn", "pig", "hypino"), "helmholtz-square": ("pinn", "pig", "hypino"),
                 "burgers": ("pinn", "pig")}
OPERATOR_FAMILIES = ("antiderivative", "pendulum")


def ratios(ours: Entry, peer: Entry) -> dict[str, float | None]:
    """Error ratio at equal wall time (None when one of them has no result by the shorter run's
    end), time ratio at equal error (None when ours never reached the peer's final error), and
    for runs of the same number of steps the ratios of their final errors and times. A run of
    ours that diverged has no ratios: comparing its error before it blew up would flatter it."""
    if not np.isfinite(ours.rel_l2):
        return {"error_ratio_equal_time": None, "time_ratio_equal_error": None, "diverged": True}
    t = min(ours.wall_s, peer.wall_s)
    a, b = best_by(ours.curve, t), best_by(peer.curve, t)
    reached = [s for s, e in ours.curve if e <= peer.rel_l2]
    out: dict[str, float | None] = {
        "error_ratio_equal_time": float(a / b) if np.isfinite(a) and np.isfinite(b) else None,
        "time_ratio_equal_error": float(reached[0] / peer.wall_s) if reached else None}
    if ours.steps == peer.steps and ours.steps > 0:
        out.update(error_ratio_equal_steps=ours.rel_l2 / peer.rel_l2, time_ratio_equal_steps=ours.wall_s / peer.wall_s)
    return out


def _pinn_problem(name: str, solvers: tuple[str, ...], budget: float, quiet: bool) -> dict[str, Any]:
    problem = load_problem(name)
    points = problem.evaluation_points()
    if problem.has_exact:
        truth = problem.exact_values(points)
    else:
        truth = run_solver(problem, "reference")[0](points)

    def score(values: Any) -> float:
        return relative_l2(values.reshape(truth.shape), truth)

    every = max(budget / 30, 1.0)
    entries = []
    for solver in (s for s in solvers if s != "hypino"):
        curve = Curve(every, score, points)
        options = {"max_seconds": budget, "progress": False, "checkpoint": None,
                   "callback": lambda step, model: curve.tick(evaluator(model))}
        try:
            sol, summary = run_solver(problem, solver, options)
        except TrainingDiverged as err:  # reported as a row, the other solvers still run
            entries.append(Entry(solver, 0, curve.elapsed(), float("nan"), 0, f"diverged: {err}".split(";")[0],
                                 curve.samples or [(curve.elapsed(), float("nan"))]))
            continue
        train = summary["info"]["train"]
        curve.tick(sol, force=True)
        entries.append(Entry(solver, summary["n_params"], train["train_s"], score(sol(points)),
                             train["adam_steps"] + train["lbfgs_steps"], train["stopped"], curve.samples))
    if "hypino" in solvers:
        sol, summary = run_solver(problem, "hypino", {"refine_steps": 3})
        err = score(sol(points))
        entries.append(Entry("hypino (3 refinements)", summary["n_params"], summary["wall_s"], err, 0,
                             "no training: forward passes of the shipped model", [(summary["wall_s"], err)]))
    tuned = problem.options_for("pinn")
    entries.append(deepxde_pinn(problem, budget, Curve(every, score, points),
                                loss_weights=(tuned.get("w_res", 1.0), tuned.get("w_bc", 1.0))))
    peer = entries[-1]
    rows = [{"ours": e.solver, "peer": peer.solver, **ratios(e, peer)} for e in entries[:-1]]
    if not quiet:
        for e in entries:
            print(f"  {name}: {e.solver:24s} rel L2 {e.rel_l2:.3e} in {e.wall_s:.1f} s", flush=True)
    return {"problem": name, "kind": "pinn", "budget_s": budget, "entries": [asdict(e) for e in entries],
            "ratios": rows}


def _operator(family: str, iterations: int, quiet: bool) -> dict[str, Any]:
    """Our DeepONet and DeepXDE's on the same family data set, architecture and iterations."""
    from .deeponet import _data, _deeponet, _deepxde, _whole

    with tempfile.TemporaryDirectory() as folder:
        train_path, test_path = _data(family, Path(folder), quiet)
        test = _whole(test_path)
        marks = tuple(range(iterations // 10, iterations + 1, iterations // 10))
        ours = _deeponet(family, train_path, test, iterations, marks, quiet)
        peer = _deepxde(family, _whole(train_path), test, iterations)

    def entry(label: str, rows: list[Any]) -> Entry:
        last = rows[-1]
        return Entry(label, last.weights, last.train_s, last.test_mse, last.iterations, "test MSE (not rel L2)",
                     [(r.train_s, r.test_mse) for r in rows])

    e_ours, e_peer = entry("sciml deeponet", ours), entry(peer.method, [peer])
    if not quiet:
        print(f"  {family}: ours MSE {e_ours.rel_l2:.2e} in {e_ours.wall_s:.0f} s, DeepXDE {e_peer.rel_l2:.2e} "
              f"in {e_peer.wall_s:.0f} s", flush=True)
    return {"problem": family, "kind": "operator", "metric": "test MSE", "iterations": iterations,
            "entries": [asdict(e_ours), asdict(e_peer)],
            "ratios": [{"ours": e_ours.solver, "peer": e_peer.solver, **ratios(e_ours, e_peer)}]}


def _linear_systems(n: int, quiet: bool) -> dict[str, Any]:
    import time

    from ..linalg.dcdm import DEFAULT_MODEL, load_model
    from .linear import _methods, _systems

    methods = _methods(load_model(DEFAULT_MODEL[2])[0])
    totals: dict[str, list[float]] = {m: [] for m in methods}
    its: dict[str, list[int]] = {m: [] for m in methods}
    for _, fluid, A, b in _systems(n):
        for name, solve in methods.items():
            history: list[float] = []
            start = time.perf_counter()
            solve(A, b, fluid, history)
            totals[name].append(time.perf_counter() - start)
            its[name].append(len(history) - 1)
    mean = {m: float(np.mean(v)) for m, v in totals.items()}
    rows = [{"ours": "DCDM", "peer": m, "time_ratio_equal_error": mean["DCDM"] / mean[m],
             "iteration_ratio": float(np.mean(its["DCDM"]) / np.mean(its[m])) if m != "sparse direct" else None}
            for m in methods if m != "DCDM"]
    if not quiet:
        print(f"  {n}^2 systems: " + ", ".join(f"{m} {t:.3f} s" for m, t in mean.items()), flush=True)
    return {"problem": f"pressure systems {n}^2", "kind": "linear", "mean_s": mean,
            "mean_iterations": {m: float(np.mean(v)) for m, v in its.items() if m != "sparse direct"},
            "ratios": rows}


def _darcy_from_mgno_benchmark(out: Path) -> dict[str, Any] | None:
    """MgNO vs FNO from the JSON of ``sciml benchmark mgno`` written to the same folder ``out``:
    per-epoch test error against time."""
    path = out / "mgno.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    runs = {r["method"]: r for r in data.get("runs", [])}
    mgno, fno = runs.get("sciml mgno"), runs.get("neuraloperator FNO")
    if mgno is None or fno is None:
        return None

    def entry(r: dict[str, Any]) -> Entry:
        curve = list(zip(r["seconds"], r["test"]))
        return Entry(r["method"], r["params"], r["seconds"][-1], r["test"][-1], r["epochs"][-1], r["notes"], curve)

    ours, peer = entry(mgno), entry(fno)
    return {"problem": "darcy-pwc 64^2 (from sciml benchmark mgno)", "kind": "operator", "metric": "test relative L2",
            "date": data.get("meta", {}).get("date"), "entries": [asdict(ours), asdict(peer)],
            "ratios": [{"ours": ours.solver, "peer": peer.solver, **ratios(ours, peer)}]}


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    budget = float(budget_s or 120.0)
    results = [_pinn_problem(name, solvers, budget, quiet) for name, solvers in PINN_PROBLEMS.items()]
    results += [_operator(family, 5000, quiet) for family in OPERATOR_FAMILIES]
    darcy = _darcy_from_mgno_benchmark(out)
    if darcy is not None:
        results.append(darcy)
    results.append(_linear_systems(128, quiet))
    text = summary(results)
    files = _write(out, results, text, budget)
    print(text)
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _fmt(v: float | None, unit: str = "x", missing: str = "not reached") -> str:
    return missing if v is None else f"{v:.2f}{unit}"


def _equal_time(q: dict[str, Any], unit: str) -> str:
    return "ours diverged" if q.get("diverged") else _fmt(q["error_ratio_equal_time"], unit, "no peer result yet")


def summary(results: list[dict[str, Any]]) -> str:
    parts = []
    for r in results:
        for q in r["ratios"]:
            if "error_ratio_equal_time" in q:
                part = (f"{r['problem']}: {q['ours']} / {q['peer']} error at equal time "
                        f"{_equal_time(q, 'x')}, time at equal error "
                        f"{_fmt(q['time_ratio_equal_error'])}")
                if "error_ratio_equal_steps" in q:
                    part += (f", at equal steps error {q['error_ratio_equal_steps']:.2f}x and time "
                             f"{q['time_ratio_equal_steps']:.2f}x")
                parts.append(part)
            else:
                parts.append(f"{r['problem']}: DCDM / {q['peer']} time {q['time_ratio_equal_error']:.2f}x")
    return "; ".join(parts) + "."


def _table(results: list[dict[str, Any]]) -> str:
    lines = ["| problem | ours | peer | our error / peer's at equal time | our time / peer's at equal error | "
             "at equal steps: error, time |", "|---|---|---|---:|---:|---:|"]
    for r in results:
        for q in r["ratios"]:
            if "error_ratio_equal_time" in q:
                steps = (f"{q['error_ratio_equal_steps']:.2f}, {q['time_ratio_equal_steps']:.2f}"
                         if "error_ratio_equal_steps" in q else "-")
                lines.append(f"| {r['problem']} | {q['ours']} | {q['peer']} | "
                             f"{_equal_time(q, '')} | "
                             f"{_fmt(q['time_ratio_equal_error'], '')} | {steps} |")
            else:
                lines.append(f"| {r['problem']} | {q['ours']} | {q['peer']} | same error (rtol 1e-6) | "
                             f"{q['time_ratio_equal_error']:.2f} | - |")
    return "\n".join(lines)


def _entries_table(results: list[dict[str, Any]]) -> str:
    lines = ["| problem | solver | params | seconds | error | steps | notes |", "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        for e in r.get("entries", []):
            lines.append(f"| {r['problem']} | {e['solver']} | {e['n_params']:,} | {e['wall_s']:.1f} | "
                         f"{e['rel_l2']:.3e} | {e['steps']:,} | {e['notes']} |")
    return "\n".join(lines)


def _write(out: Path, results: list[dict[str, Any]], text: str, budget: float,
           env: dict[str, Any] | None = None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = env or environment()
    curves = [r for r in results if r.get("entries")]
    cols = min(len(curves) + 1, 4)
    rows = -(-(len(curves) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4.2 * rows), squeeze=False)
    axes = list(axes.ravel())
    for ax in axes[len(curves) + 1:]:
        ax.set_visible(False)
    axes = axes[:len(curves)] + [axes[len(curves)]]
    for ax, r in zip(axes, curves):
        for i, e in enumerate(r["entries"]):
            t, err = zip(*e["curve"])
            ax.loglog(t, err, color=f"C{i}", label=e["solver"], marker="." if len(t) == 1 else None)
            ax.scatter([e["wall_s"]], [e["rel_l2"]], color=f"C{i}", marker="o", zorder=3)
        ax.set_title(r["problem"])
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel(r.get("metric", "relative L2"))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    lin = results[-1]
    ax = axes[-1]
    for i, (m, t) in enumerate(lin["mean_s"].items()):
        ax.scatter([t], [lin["mean_iterations"].get(m, 1) or 1], color=f"C{i}", label=m)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(lin["problem"] + " (all to rtol 1e-6)")
    ax.set_xlabel("mean solve time [s]")
    ax.set_ylabel("iterations (direct: 1)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    body = [f"Budget {budget:g} s per trained solver on the PINN problems; one torch thread.", "", text, "",
            _table(results), "", _entries_table(results), ""]
    darcy = [r for r in results if r.get("date")]
    if darcy:
        body += [f"The Darcy rows are read from `sciml benchmark mgno` (docs/benchmarks/mgno.md), run "
                 f"{darcy[0]['date']} on this machine: 45 minutes on its own.", ""]
    payload = {"meta": env, "budget_s": budget, "results": results}
    return save_page(out, "peers", "sciml against DeepXDE, pyamg, SciPy-style Krylov solvers and neuraloperator",
                     fig, body, "accuracy against wall time per problem (Pareto view): curves over training, dots "
                     "at the end", payload, env)
