"""The cost of a custom PDE against the same PDE as a built-in type ([pde]).

Poisson on the unit square written twice, as ``type = "poisson"`` and as ``type = "custom"``
with ``residual = "-lap(u) - f"``; the same network, points and seed train 300 Adam steps with
pinn and pig, best of three, one thread.

    python examples/custom_pde_speed.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from sciml.problems import load_problem, problem_from_dict
from sciml.runner import run

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    torch.set_num_threads(1)
    builtin = load_problem(ROOT / "problems" / "poisson-square.toml")
    raw = {k: v for k, v in builtin.raw.items() if k not in ("reference", "solver")}
    raw["pde"] = {"type": "custom", "residual": "-lap(u) - 2*pi**2*sin(pi*x)*sin(pi*y)"}
    custom = problem_from_dict(raw)
    options = {"progress": False, "adam_steps": 300, "lbfgs_steps": 0, "max_seconds": 1000}
    for solver in ("pinn", "pig"):
        times = {}
        for name, problem in (("built-in", builtin), ("custom", custom)):
            runs = [run(problem, solver, options, seed=0)[1] for _ in range(3)]
            times[name] = min(s["info"]["train"]["train_s"] for s in runs)
            print(f"{solver:5s} {name:9s} {times[name]:.2f} s / 300 steps, rel L2 {runs[-1]['rel_l2']:.3e}")
        print(f"{solver:5s} custom / built-in: {times['custom'] / times['built-in']:.2f}x")


if __name__ == "__main__":
    main()
