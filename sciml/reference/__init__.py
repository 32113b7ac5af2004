"""SciPy references: P1 FEM (scalar elliptic family, elasticity), method of lines, Fourier
pseudo-spectral Burgers, a sine-series spectral solver for 2D incompressible Euler in a box,
``solve_ivp`` for ODEs, finite differences on grids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np

from ..config import build_config
from ..errors import ProblemError
from ..geometry import Mesh, MeshDomain
from ..problems import Problem
from ..problems.linear import coefficients, operator_kind
from ..solution import Solution
from .burgers import solve_burgers
from .elasticity import solve_elasticity
from .euler import solve_euler
from .fd import grid_nodes, solve_grid
from .ode import solve_ode
from .scalar import ScalarFEM
from .spacetime import solve_spacetime


@dataclass
class ReferenceConfig:
    """Options of the reference (``[reference]`` in a problem file).

    Attributes
    ----------
    method
        ``fem`` (P1 finite elements, every scalar problem) or ``fd`` (second-order finite
        differences on a grid: steady Poisson/Helmholtz on boxes with Dirichlet boundaries, the
        FNO Darcy data scheme; the grid nodes coincide with a family's output grid).
    h
        Mesh size for generated meshes (default: the domain's diameter / 100, / 20 in 3D); the
        fd grid spacing when ``nodes`` is not given.
    nodes
        fd and space-time linear problems (method of lines, default 401): nodes per axis (default: a ``grid``-layout family's output points, else from ``h``).
    nt
        Crank-Nicolson steps for transient FEM problems.
    snapshots
        Stored time levels of transient solutions.
    supg
        SUPG stabilisation: ``auto`` (where the cell Peclet number exceeds 1), true or false.
    modes
        Fourier modes of the Burgers reference.
    rtol, atol
        Tolerances of ``solve_ivp`` (ODE and Burgers).
    n_out
        Output times of ODE solutions.
    """

    method: Literal["fem", "fd"] = "fem"
    h: float | None = None
    nodes: int | None = None
    nt: int = 1000
    snapshots: int = 101
    supg: bool | Literal["auto"] = "auto"
    modes: int = 2048
    rtol: float = 1e-10
    atol: float = 1e-12
    n_out: int = 2001

    def __post_init__(self) -> None:
        for key, least, most in (("nt", 1, 10**7), ("snapshots", 2, 10**5), ("modes", 8, 2**20),
                                 ("n_out", 2, 10**7), ("nodes", 3, 10**4)):
            value = getattr(self, key)
            if value is not None and not least <= value <= most:
                raise ProblemError(f"must lie in [{least:,}, {most:,}], got {value:,}", key=key)


#: the most nodes a reference mesh or grid may have (memory: a few GB for P1 FEM)
MAX_NODES = 4_000_000


def _check_size(problem: Problem, cfg: ReferenceConfig) -> None:
    """Refuse a mesh size or grid that would not fit in memory, before building it."""
    if problem.dim == 0 or isinstance(problem.domain, MeshDomain):
        return
    lo, hi = problem.domain.bounds
    h = cfg.h or default_h(problem)
    nodes = float(np.prod((hi - lo) / h + 1))
    if cfg.nodes is not None and (cfg.method == "fd" or problem.pde.type == "linear"):
        nodes = float(cfg.nodes) ** problem.dim
    if nodes > MAX_NODES:
        key = "nodes" if cfg.nodes is not None else "h"
        raise ProblemError(f"gives about {nodes:.3g} nodes (at most {MAX_NODES:,}): choose a larger h or fewer "
                           "nodes", problem.source, f"reference.{key}")


def default_h(problem: Problem) -> float:
    lo, hi = problem.domain.bounds
    return float(np.linalg.norm(hi - lo)) / (20 if problem.dim == 3 else 100)


def reference_mesh(problem: Problem, h: float | None = None) -> Mesh:
    """The mesh the reference uses: the problem's own mesh file, or one generated from the
    domain with size ``h``."""
    if isinstance(problem.domain, MeshDomain):
        return problem.domain.mesh_data
    return problem.domain.mesh(h or default_h(problem))


def solve_reference(problem: Problem, options: Mapping[str, Any] | None = None) -> Solution:
    """Solve ``problem`` with the SciPy reference appropriate to its PDE type."""
    cfg = build_config(ReferenceConfig, options if options is not None else problem.reference,
                       "reference", problem.source)
    pde = problem.pde.type
    _check_size(problem, cfg)
    common = dict(problem=problem.name, solver="reference", fields=problem.fields)
    if pde == "ode":
        t, y = solve_ode(problem, cfg.n_out, rtol=cfg.rtol, atol=cfg.atol)
        return Solution(**common, kind="grid", points=t[:, None], values=y, axes=[t])
    if pde == "burgers":
        x, t, u = solve_burgers(problem, cfg.modes, cfg.snapshots, rtol=max(cfg.rtol, 1e-8),
                                atol=max(cfg.atol, 1e-10))
        return Solution(**common, kind="grid", points=x[:, None], values=u[..., None], axes=[x], times=t)
    if pde == "euler":
        axes, t, u = solve_euler(problem, cfg.h or default_h(problem), cfg.snapshots)
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        return Solution(**common, kind="grid", points=points, values=u, axes=axes, times=t,
                        info={"grid": [len(a) for a in axes], "method": "vorticity-streamfunction sine series, RK4"})
    if pde == "linear" and operator_kind(coefficients(problem)) != "elliptic":
        n = cfg.nodes or 401
        x, y, u = solve_spacetime(problem, n, n, rtol=max(cfg.rtol, 1e-9), atol=max(cfg.atol, 1e-11))
        points = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
        return Solution(**common, kind="grid", points=points, values=u.reshape(-1, 1), axes=[x, y],
                        info={"grid": [n, n], "method": "method of lines in y (time), finite differences in x"})
    if cfg.method == "fd" and pde not in ("ode", "burgers", "euler"):
        axes = grid_nodes(problem, cfg.nodes, cfg.h or default_h(problem))
        u = solve_grid(problem, axes)
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, problem.dim)
        return Solution(**common, kind="grid", points=points, values=u.reshape(-1, 1), axes=axes,
                        info={"grid": [len(a) for a in axes], "method": "finite differences, arithmetic face means"})
    mesh = reference_mesh(problem, cfg.h)
    info = {"n_nodes": int(len(mesh.points)), "n_cells": int(len(mesh.cells))}
    if pde == "elasticity":
        u = solve_elasticity(problem, mesh)
        return Solution(**common, kind="mesh", points=mesh.points, values=u, cells=mesh.cells, info=info)
    fem = ScalarFEM(problem, mesh, cfg.supg)
    info["supg"] = fem.use_supg
    if problem.transient:
        times, u = fem.solve_transient(cfg.nt, cfg.snapshots)
        return Solution(**common, kind="mesh", points=mesh.points, values=u[..., None], cells=mesh.cells,
                        times=times, info=info)
    u = fem.solve_steady()
    return Solution(**common, kind="mesh", points=mesh.points, values=u[:, None], cells=mesh.cells, info=info)


__all__ = ["ReferenceConfig", "reference_mesh", "solve_reference", "ScalarFEM", "solve_elasticity",
           "solve_burgers", "solve_euler", "solve_ode", "solve_spacetime"]
