"""``sciml benchmark ggn``: graph neural Galerkin networks (Gao, Zahr & Wang, CMAME 2022) on the
shipped unstructured meshes, forward and inverse, and how their cost grows with the mesh.

* Forward: Poisson on the L-shape and the disk, plane-stress elasticity on the plate with a hole,
  with the shipped problem files' settings (the dual-norm loss); the L-shape also with the paper's
  Euclidean residual norm and the solver's defaults. Each error is reported twice: against the P1 FEM solution on the same mesh (what the network
  can at best reproduce) and against the exact solution or a reference on a mesh twice as fine
  (which adds the discretisation error).
* Inverse: the source amplitude of ``problems/poisson-source-inverse.toml`` and the Lame
  parameters of ``problems/elasticity-lame-inverse.toml`` from 10 observed nodes, without and
  with 1% noise.
* A comparison: the same network fitted directly to the FEM nodal values of the L-shape (mean
  squares, the same recipe and budget): how fast this network fits the answer when it is given.
* Scaling: Poisson on the unit square at three mesh sizes, the same budget each.

Every run has the same wall-clock cap (``--budget``, default 300 s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..nn.trainer import Trainer
from ..problems import load_problem
from ..reference import reference_mesh, solve_reference
from ..runner import run as run_solver
from ..shipped import problems_folder
from ..solvers.ggn import GalerkinNet, GGNSolver, graph_inputs, parametric_system
from .curves import environment, save_page

SHIPPED = problems_folder()
PAPER_LOSS = {"loss": "residual", "adam_steps": 500, "lbfgs_steps": 50}  # the solver's defaults
FORWARD = (("poisson-lshape", {"h": 0.04, **PAPER_LOSS}), ("poisson-lshape", {"h": 0.04}),
           ("poisson-disk", {}), ("elasticity-plate-hole", {}))
SUPERVISED = (("poisson-lshape", {"h": 0.04}),)
INVERSE = (("poisson-source-inverse", 0.0), ("elasticity-lame-inverse", 0.0), ("elasticity-lame-inverse", 0.01))
SCALING = (0.035, 0.025, 0.018)
SCALING_OPTIONS = {"loss": "dual", "adam_steps": 100, "lbfgs_steps": 200}


@dataclass
class Row:
    case: str
    nodes: int
    train_s: float
    steps: int
    vs_fem: float | None
    vs_truth: float | None
    truth: str
    inverse: str = ""
    s_per_step: float = 0.0  # one Adam step (an L-BFGS step runs up to 20 such evaluations)


def _row(case: str, summary: dict[str, Any], vs_truth: float | None, truth: str) -> Row:
    info = summary["info"]
    train = info["train"]
    steps = train["adam_steps"] + train["lbfgs_steps"]
    per_step = train["s_per_adam_step"] or 0.0
    inverse = "; ".join(f"{k} = {v['recovered']:.5g} (true {v['true']:.5g}, error {100 * v['rel_error']:.2f}%)"
                        for k, v in info.get("inverse", {}).items())
    return Row(case, info["n_nodes"], train["train_s"], steps, info.get("rel_l2_vs_fem"), vs_truth, truth,
               inverse, per_step)


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    budget = float(budget_s or 300.0)
    common = {"max_seconds": budget, "progress": not quiet, "checkpoint": None}
    rows: list[Row] = []

    def report(row: Row) -> None:
        rows.append(row)
        if not quiet:
            print(f"{row.case:34s} {row.nodes:6d} nodes  vs FEM {row.vs_fem}  vs {row.truth} {row.vs_truth}  "
                  f"{row.train_s:.0f} s  {row.inverse}", flush=True)

    for name, opts in FORWARD:
        problem = load_problem(SHIPPED / f"{name}.toml")
        sol, summary = run_solver(problem, "ggn", {**common, **opts}, reference=None if problem.has_exact else
                                  _fine_reference(problem, opts.get("h")))
        label = name + (" (the paper's Euclidean residual norm)" if opts.get("loss") == "residual" else "")
        report(_row(label, summary, summary["rel_l2"], summary["compared_to"] if problem.has_exact else
                    "reference on a finer mesh" if "h" in opts else "reference on the same mesh"))
    for name, opts in SUPERVISED:
        report(_supervised_fit(name, {**common, **opts}))
    for name, noise in INVERSE:
        problem = load_problem(SHIPPED / f"{name}.toml", [f"inverse.noise={noise}"])
        _, summary = run_solver(problem, "ggn", common)
        report(_row(f"{name}, noise {100 * noise:g}%", summary, None, ""))
    for h in SCALING:
        problem = load_problem(SHIPPED / "poisson-square.toml")
        _, summary = run_solver(problem, "ggn", {**common, **SCALING_OPTIONS, "h": h})
        report(_row(f"poisson-square h = {h:g}", summary, summary["rel_l2"], "exact"))

    text = (f"Each run at most {budget:g} s of training on {torch.get_num_threads()} torch thread(s) (ChebConv "
            "K = 10, widths 32-64-64-32, float64). Unless the case says otherwise: the residual in its dual norm, "
            "100 Adam steps then L-BFGS on its square (the shipped problem files' `[solver.ggn]`).")
    files = _write(out, rows, text, {"budget_s": budget})
    print(_table(rows))
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


class _Regression(torch.nn.Module):
    """Mean square between the network's nodal values and fixed targets (``forward(step)``)."""

    def __init__(self, net: GalerkinNet, x: torch.Tensor, laplacian: torch.Tensor, target: np.ndarray):
        super().__init__()
        self.net, self.laplacian = net, laplacian
        self.register_buffer("x", x)
        self.register_buffer("target", torch.as_tensor(target))

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = (self.net(self.x, self.laplacian) - self.target).pow(2).mean()
        return loss, {"mse": loss.detach()}


def _supervised_fit(name: str, options: dict[str, Any]) -> Row:
    """The ggn network fitted directly to the same-mesh FEM nodal values with the ggn recipe and
    budget (mean squares)."""
    problem = load_problem(SHIPPED / f"{name}.toml")
    cfg = GGNSolver(**options).config(problem)
    mesh = reference_mesh(problem, cfg.h)
    fem = parametric_system(problem, mesh, []).base.solve()
    scale = float(np.abs(fem).max()) or 1.0
    torch.manual_seed(0)
    net = GalerkinNet(problem.dim, fem.shape[1], cfg.widths, cfg.K).double()
    objective = _Regression(net, *graph_inputs(mesh), fem / scale)
    result = Trainer(objective, cfg).fit()
    with torch.no_grad():
        u = objective.net(objective.x, objective.laplacian).numpy() * scale
    per_step = result.summary()["s_per_adam_step"] or 0.0
    return Row(f"{name}: same network regressed onto the FEM values", len(mesh.points), result.seconds,
               result.adam_steps + result.lbfgs_steps, float(np.linalg.norm(u - fem) / np.linalg.norm(fem)),
               None, "", "", per_step)


def _fine_reference(problem: Any, h: float | None):
    """The SciPy reference on a mesh twice as fine as the one the network uses."""
    mesh = reference_mesh(problem, h)
    edges = mesh.points[mesh.cells[:, [0, 1]]]
    h_mesh = float(np.mean(np.linalg.norm(edges[:, 0] - edges[:, 1], axis=1)))
    from ..geometry import MeshDomain

    if isinstance(problem.domain, MeshDomain):
        return solve_reference(problem)  # a mesh file: the same mesh (the table says so)
    return solve_reference(problem, {**problem.reference, "h": h_mesh / 2})


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.2e}"


def _table(rows: list[Row]) -> str:
    lines = ["| case | nodes | train s | steps | s per Adam step | rel L2 vs same-mesh FEM | rel L2 vs truth | truth | recovered |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r.case} | {r.nodes:,} | {r.train_s:.0f} | {r.steps:,} | {r.s_per_step:.3f} | {_fmt(r.vs_fem)} | "
              f"{_fmt(r.vs_truth)} | {r.truth} | {r.inverse} |" for r in rows]
    return "\n".join(lines)


def _write(out: Path, rows: list[Row], text: str, meta: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = environment()
    scaling = [r for r in rows if r.case.startswith("poisson-square")]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog([r.nodes for r in scaling], [r.s_per_step for r in scaling], "o-", label="seconds per step")
    ax.set_xlabel("mesh nodes")
    ax.set_ylabel("training seconds per step")
    ax.grid(True, which="both", alpha=0.3)
    ax2 = ax.twinx()
    ax2.loglog([r.nodes for r in scaling], [r.vs_fem for r in scaling], "s--", color="C1",
               label="rel L2 vs FEM at the budget")
    ax2.set_ylabel("rel L2 vs same-mesh FEM")
    fig.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_page(out, "ggn", "graph neural Galerkin networks: forward, inverse, scaling", fig,
                     [text, "", _table(rows), ""], "cost and error against mesh size",
                     {"meta": {**meta, **env}, "rows": [asdict(r) for r in rows]}, env)
