"""Pictures of solutions: 1D lines, space-time images, 2D colour maps, ODE trajectories, and the
validation harness's solution / truth / error panels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .problems import Problem
    from .solution import Solution


def plot_solution(sol: "Solution", path: str | Path) -> None:
    """Save a PNG of the solution (one panel per field)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    nf = len(sol.fields)
    ode = sol.kind == "grid" and sol.dim == 1 and not sol.transient and sol.fields != ("u",)
    if ode:
        fig, ax = plt.subplots(figsize=(7, 4))
        for i, name in enumerate(sol.fields):
            ax.plot(sol.points[:, 0], sol.values[:, i], label=name)
        ax.set_xlabel("t")
        ax.legend()
    else:
        fig, axes = plt.subplots(1, nf, figsize=(5.5 * nf, 4.5), squeeze=False)
        for i, name in enumerate(sol.fields):
            ax = axes[0, i]
            if sol.dim == 1 and sol.transient:
                order = np.argsort(sol.points[:, 0])
                im = ax.pcolormesh(sol.points[order, 0], sol.times, sol.values[:, order, i],
                                   shading="auto", cmap="RdBu_r")
                ax.set_xlabel("x")
                ax.set_ylabel("t")
                fig.colorbar(im, ax=ax)
            elif sol.dim == 1:
                order = np.argsort(sol.points[:, 0])
                ax.plot(sol.points[order, 0], sol.values[order, i])
                ax.set_xlabel("x")
            elif sol.dim == 2:
                vals = sol.final()[:, i]
                tri = mtri.Triangulation(sol.points[:, 0], sol.points[:, 1],
                                         sol.cells if sol.kind == "mesh" else None)
                im = ax.tripcolor(tri, vals, shading="gouraud", cmap="viridis")
                ax.set_aspect("equal")
                fig.colorbar(im, ax=ax)
            else:
                mid = np.median(sol.points[:, 2])
                sel = np.abs(sol.points[:, 2] - mid) <= np.ptp(sol.points[:, 2]) / 20
                im = ax.scatter(sol.points[sel, 0], sol.points[sel, 1], c=sol.final()[sel, i], s=6)
                ax.set_aspect("equal")
                fig.colorbar(im, ax=ax)
            when = f" at t = {sol.times[-1]:g}" if sol.transient and sol.dim > 1 else ""
            ax.set_title(f"{name}{when}")
    fig.suptitle(f"{sol.problem} ({sol.solver})")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _panel_points(problem: "Problem") -> np.ndarray:
    """The points a comparison picture shows: the evaluation points, at the final time for 2D
    and 3D transient problems, on the middle z-slab in 3D."""
    pts = problem.evaluation_points()
    if problem.transient and problem.dim > 1:
        pts = pts[pts[:, -1] == pts[-1, -1]]
    if problem.dim == 3:
        z = pts[:, 2]
        pts = pts[np.abs(z - np.median(z)) <= np.ptp(z) / 20]
    return pts


def plot_comparison(sol: "Solution", problem: "Problem", reference: "Solution | None", path: str | Path) -> None:
    """Save a PNG with three panels: the solution, the truth it is measured against (the exact
    solution, else ``reference``) and their difference, for the first field."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    pts = _panel_points(problem)
    truth = problem.exact_values(pts) if problem.has_exact else reference(pts)  # type: ignore[misc]
    u = sol(pts)
    name = sol.fields[0]
    panels = ((f"{name} ({sol.solver})", u[:, 0]), (f"{name} ({'exact' if problem.has_exact else 'reference'})",
                                                     truth[:, 0]), ("error", u[:, 0] - truth[:, 0]))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    flat = problem.dim == 0 or (problem.dim == 1 and not problem.transient)
    tri = None
    if not flat:
        xy = pts[:, [0, -1]] if problem.dim == 1 else pts[:, :2]
        lo, span = xy.min(axis=0), np.maximum(np.ptp(xy, axis=0), 1e-300)
        unit = mtri.Triangulation(*((xy - lo) / span).T)  # well-shaped triangles whatever the aspect
        tri = mtri.Triangulation(xy[:, 0], xy[:, 1], unit.triangles)
        if problem.dim >= 2:
            centroids = xy[tri.triangles].mean(axis=1)
            probe = np.column_stack([centroids, np.full((len(centroids), problem.dim - 2), np.median(pts[:, 2:3]))]) \
                if problem.dim == 3 else centroids
            tri.set_mask(~problem.domain.contains(probe, tol=1e-9))
    for ax, (title, values) in zip(axes, panels):
        if flat:
            order = np.argsort(pts[:, 0])
            ax.plot(pts[order, 0], values[order])
            ax.set_xlabel("t" if problem.dim == 0 else "x")
        else:
            if title == "error":
                top = float(np.abs(values).max()) or 1.0
                im = ax.tripcolor(tri, values, shading="gouraud", cmap="RdBu_r", vmin=-top, vmax=top)
            else:
                im = ax.tripcolor(tri, values, shading="gouraud", cmap="viridis")
            fig.colorbar(im, ax=ax)
            ax.set_xlabel("x")
            ax.set_ylabel("t" if problem.dim == 1 else "y")
            if problem.dim >= 2:
                ax.set_aspect("equal")
        ax.set_title(title)
    fig.suptitle(f"{sol.problem}: relative L2 {np.linalg.norm(panels[2][1]) / max(np.linalg.norm(truth[:, 0]), 1e-300):.2e}"
                 + (f" at t = {pts[-1, -1]:g}" if problem.transient and problem.dim > 1 else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=90, format="png")
    plt.close(fig)
