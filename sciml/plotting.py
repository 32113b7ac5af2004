"""Pictures of solutions: 1D lines, space-time images, 2D colour maps, ODE trajectories."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
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
