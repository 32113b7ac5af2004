"""``dcdm``: a Poisson problem on a box solved by finite differences and the deep conjugate
direction method (Kaneda et al., ICML 2023; the method is :mod:`sciml.linalg.dcdm`).

The interior system of the 5/7-point scheme on ``nodes`` points per axis is ``h^-2`` times the
open-boundary pressure matrix of an all-fluid grid (:func:`~sciml.linalg.grid.pressure_matrix`),
the system the network was trained on; a variable ``k`` changes the matrix but the conjugate
direction iteration stays exact for any symmetric positive definite one (the network then only
supplies less suitable directions). ``sciml train dcdm`` trains a network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ProblemError, SolverError
from ..linalg.dcdm import DCDMConfig, dcdm, load_model, train
from ..problems import Problem
from ..reference.fd import solve_grid
from ..solution import Solution
from .base import GeneratesOwnData, TrainedSolver, check_supported
from .operator import resolve_model
from .registry import register


@dataclass
class DCDMSolverConfig:
    """Options of ``dcdm`` (``[solver.dcdm]``).

    Attributes
    ----------
    nodes
        Grid nodes per axis, boundary included (the unknowns are the ``(nodes - 2)^d``
        interior ones).
    rtol, maxiter
        Stop at ``||r|| <= rtol ||b||``; iteration cap.
    k
        Directions each new one is A-orthogonalised against (the paper: 2).
    model
        A DCDM model file (default: the shipped model of the problem's dimension).
    """

    nodes: int = 66
    rtol: float = 1e-6
    maxiter: int = 1000
    k: int = 2
    model: str | None = None

    def __post_init__(self) -> None:
        if self.nodes < 3 or self.rtol <= 0 or self.maxiter < 1 or self.k < 0:
            raise ProblemError("dcdm: nodes >= 3, rtol > 0, maxiter >= 1, k >= 0")


@register
class DCDMSolver(GeneratesOwnData, TrainedSolver):
    """Finite differences + DCDM for steady Poisson problems with Dirichlet boundaries on boxes."""

    name: ClassVar[str] = "dcdm"
    supports: ClassVar[frozenset[str]] = frozenset({"poisson"})
    description: ClassVar[str] = "finite differences solved by the deep conjugate direction method (Kaneda et al. 2023)"
    config_class: ClassVar[type] = DCDMSolverConfig
    train_config_class: ClassVar[type] = DCDMConfig
    data_source: ClassVar[str] = "Ritz vectors of the pressure matrix it builds itself"

    @classmethod
    def train_record(cls, cfg: Any, out: str | Path | None, callback: Any) -> dict[str, Any]:
        return train(cfg, out, callback)[2]

    @classmethod
    def summary(cls, record: dict[str, Any]) -> str:
        tr, c = record["train"], record["config"]
        return (f"dcdm {c['dim']}D at {c['n']}^{c['dim']}: {record['n_params']:,} weights, {tr['adam_steps']:,} steps "
                f"in {tr['train_s']:.0f} s, final loss {tr['final_loss']:.4f}")

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        cfg = self.config(problem)
        lo, hi = problem.domain.bounds
        axes = [np.linspace(a, b, cfg.nodes) for a, b in zip(lo, hi)]
        h2 = float(np.prod([a[1] - a[0] for a in axes]) ** (2 / len(axes)))
        if not np.allclose([a[1] - a[0] for a in axes], axes[0][1] - axes[0][0], rtol=1e-9):
            raise ProblemError("dcdm needs equal grid spacing on every axis (a cube-shaped box)", problem.source,
                               "domain")
        net = load_model(resolve_model(cfg.model, problem))[0] if cfg.model else None
        record: dict[str, Any] = {}

        def linear_solver(A: Any, rhs: np.ndarray) -> np.ndarray:
            fluid = np.ones(tuple(len(a) - 2 for a in axes), dtype=bool)
            history: list[float] = []
            start = time.perf_counter()
            x, info = dcdm(A * h2, rhs * h2, mask=fluid, rtol=cfg.rtol, maxiter=cfg.maxiter, history=history,
                           model=net, k=cfg.k)
            record.update(iterations=len(history) - 1, seconds=time.perf_counter() - start,
                          final_relative_residual=history[-1])
            if info != 0:
                raise SolverError(f"dcdm did not reach rtol {cfg.rtol:g} in {cfg.maxiter} iterations "
                                  f"(relative residual {history[-1]:.2e})")
            return x

        u = solve_grid(problem, axes, linear_solver)
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, problem.dim)
        info = {"grid": [len(a) for a in axes], "model": cfg.model or "shipped", **record}
        return Solution(problem=problem.name, solver=self.name, fields=problem.fields, kind="grid", points=points,
                        values=u.reshape(-1, 1), axes=axes, info=info)
