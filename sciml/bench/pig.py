"""``sciml benchmark pig``: Physics-Informed Gaussians against MLP PINNs at equal wall time.

The problem is the PIG paper's 2D Helmholtz case (``problems/helmholtz-square.toml``,
u = sin(pi x) sin(4 pi y) on [-1, 1]^2). Three solvers get the same wall-clock budget on the
same machine, in one process: ``pig`` and ``pinn`` with the recipes in the problem file, and
DeepXDE's PINN with the same network, recipe (4 x 50 tanh, Adam 1e-3 x 10,000 then L-BFGS) and
loss weights as ours. The error is sampled over training time for the plot; the table reports
the error of each returned solution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..nn.fit import evaluator
from ..problems import load_problem
from ..runner import run as run_solver
from ..shipped import problems_folder
from ..solution import relative_l2
from .curves import Curve, Entry, table, write_outputs
from .peers import deepxde_pinn

SHIPPED = problems_folder()


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    budget = float(budget_s or 600.0)
    problem = load_problem(SHIPPED / "helmholtz-square.toml")
    points = problem.evaluation_points()
    exact = problem.exact_values(points)

    def score(values: Any) -> float:
        return relative_l2(values.reshape(exact.shape), exact)

    every = max(budget / 40, 1.0)
    entries = []
    for label, solver in (("pig", "pig"), ("pinn", "pinn")):
        curve = Curve(every, score, points)
        options = {"max_seconds": budget, "progress": not quiet, "checkpoint": None,
                   "callback": lambda step, model: curve.tick(evaluator(model))}
        sol, summary = run_solver(problem, solver, options)
        train = summary["info"]["train"]
        curve.tick(sol, force=True)
        notes = f"Adam {train['adam_steps']} + L-BFGS {train['lbfgs_steps']} steps, {train['stopped']}"
        entries.append(Entry(label, summary["n_params"], train["train_s"], summary["rel_l2"],
                             train["adam_steps"] + train["lbfgs_steps"], notes, curve.samples))
        if not quiet:
            print(f"{label}: rel L2 {summary['rel_l2']:.3e} after {train['train_s']:.1f} s of training",
                  flush=True)
    tuned = problem.options_for("pinn")  # the tuned baseline's weights, shared with DeepXDE
    entries.append(deepxde_pinn(problem, budget, Curve(every, score, points),
                                loss_weights=(tuned.get("w_res", 1.0), tuned.get("w_bc", 1.0))))
    pig, pinn, dde = entries
    text = (f"Budget {budget:g} s per solver. PIG error / our PINN error = {pig.rel_l2 / pinn.rel_l2:.2e}; "
            f"PIG error / DeepXDE PINN error = {pig.rel_l2 / dde.rel_l2:.2e}. The paper reports 4.13e-5 for "
            "PIG (3,200 Gaussians, 2,000 L-BFGS steps on 10k fresh points per step, GPU) and 4.02e-1 "
            "for a PINN.")
    print(table(entries))
    print(text)
    files = write_outputs(out, "pig", "2D Helmholtz (PIG paper case), equal wall time", entries, text,
                          {"budget_s": budget, "problem": "helmholtz-square"})
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0
