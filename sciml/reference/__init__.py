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


#: the boundary-condition kinds the references implement (each reads those its PDE type takes)
KINDS = ("dirichlet", "neumann", "robin", "cauchy", "periodic", "slip")

#: the most nodes a reference mesh or grid may have (memory: a few GB for P1 FEM)
MAX_NODES = 4_000_000


def _check_size(problem: Problem, cfg: ReferenceConfig) -> None:
    """Refuse a mesh size or grid that would not fit in memory, before building it."""
    if problem.dim == 0 or isinstance(problem.domain, MeshDomain):
        return
    lo, hi = problem.domain.bounds
    h = cfg.h or default_h(problem)
    nodes = float(np.prod((hi - lo) / h + 1))
    if cfg.nodes is not None:  # the fd and space-time grids
        nodes = max(nodes, float(cfg.nodes) ** problem.dim)
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
    """Solve ``problem`` with the SciPy reference of its PDE type (the type module's
    ``reference``, :mod:`sciml.pdes`)."""
    cfg = build_config(ReferenceConfig, options if options is not None else problem.reference,
                       "reference", problem.source)
    kind = problem.pde.spec
    if not kind.has_reference:
        raise ProblemError(f"no SciPy reference solves {kind.name} problems: give an [exact] solution to measure "
                           "a solver against", problem.source, "pde.type")
    _check_size(problem, cfg)
    for i, bc in enumerate(problem.boundaries):
        if bc.type not in KINDS:  # a kind registered later: the references would treat it as natural
            raise ProblemError(f"the SciPy references do not know {bc.type!r} conditions (they take "
                               f"{', '.join(KINDS)})", problem.source, f"boundary.{i}.type")
    if cfg.method == "fd" and kind.scalar_form(problem) is None:
        raise ProblemError(f'method = "fd" solves steady scalar problems on boxes, not {kind.name} problems',
                           problem.source, "reference.method")
    return kind.reference(problem, cfg)


def _common(problem: Problem) -> dict[str, Any]:
    return dict(problem=problem.name, solver="reference", fields=problem.fields)


def _grid_points(axes: list[np.ndarray]) -> np.ndarray:
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))


def ode_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """``solve_ivp`` (DOP853) at ``n_out`` times."""
    t, y = solve_ode(problem, cfg.n_out, rtol=cfg.rtol, atol=cfg.atol)
    return Solution(**_common(problem), kind="grid", points=t[:, None], values=y, axes=[t],
                    axis_names=("t",))


def burgers_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """Fourier pseudo-spectral method of lines with ``modes`` grid intervals."""
    x, t, u = solve_burgers(problem, cfg.modes, cfg.snapshots, rtol=max(cfg.rtol, 1e-8), atol=max(cfg.atol, 1e-10))
    return Solution(**_common(problem), kind="grid", points=x[:, None], values=u[..., None], axes=[x], times=t)


def euler_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """Vorticity-streamfunction sine series in a box, RK4."""
    axes, t, u = solve_euler(problem, cfg.h or default_h(problem), cfg.snapshots)
    return Solution(**_common(problem), kind="grid", points=_grid_points(axes), values=u, axes=axes, times=t,
                    info={"grid": [len(a) for a in axes], "method": "vorticity-streamfunction sine series, RK4"})


def spacetime_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """A space-time ``linear`` problem (``y`` is time): method of lines in ``y``."""
    n = cfg.nodes or 401
    x, y, u = solve_spacetime(problem, n, n, rtol=max(cfg.rtol, 1e-9), atol=max(cfg.atol, 1e-11))
    return Solution(**_common(problem), kind="grid", points=_grid_points([x, y]), values=u.reshape(-1, 1),
                    axes=[x, y], info={"grid": [n, n], "method": "method of lines in y (time), finite differences in x"})


def elasticity_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """P1 plane elasticity on the reference mesh."""
    mesh = reference_mesh(problem, cfg.h)
    u = solve_elasticity(problem, mesh)
    return Solution(**_common(problem), kind="mesh", points=mesh.points, values=u, cells=mesh.cells,
                    info={"n_nodes": int(len(mesh.points)), "n_cells": int(len(mesh.cells))})


def scalar_reference(problem: Problem, cfg: ReferenceConfig) -> Solution:
    """A scalar second-order problem (its type's ``scalar_form``): finite differences with
    ``method = "fd"``, else P1 FEM, steady or Crank-Nicolson in time."""
    if cfg.method == "fd":
        axes = grid_nodes(problem, cfg.nodes, cfg.h or default_h(problem))
        u = solve_grid(problem, axes)
        return Solution(**_common(problem), kind="grid", points=_grid_points(axes), values=u.reshape(-1, 1),
                        axes=axes, info={"grid": [len(a) for a in axes],
                                         "method": "finite differences, arithmetic face means"})
    mesh = reference_mesh(problem, cfg.h)
    info = {"n_nodes": int(len(mesh.points)), "n_cells": int(len(mesh.cells))}
    fem = ScalarFEM(problem, mesh, cfg.supg)
    info["supg"] = fem.use_supg
    common = dict(**_common(problem), kind="mesh", points=mesh.points, cells=mesh.cells, info=info)
    if problem.transient:
        times, u = fem.solve_transient(cfg.nt, cfg.snapshots)
        return Solution(**common, values=u[..., None], times=times)
    return Solution(**common, values=fem.solve_steady()[:, None])


__all__ = ["ReferenceConfig", "reference_mesh", "solve_reference", "ScalarFEM", "solve_elasticity",
           "solve_burgers", "solve_euler", "solve_ode", "solve_spacetime", "ode_reference", "burgers_reference",
           "euler_reference", "spacetime_reference", "elasticity_reference", "scalar_reference"]
