"""Side-by-side benchmarks: ``sciml benchmark NAME``.

Each benchmark runs our solvers and the peers on the same machine in one process, prints a
table and writes a Markdown page, a JSON file and an error-versus-time plot under
``docs/benchmarks/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import ProblemError

BENCHMARKS: dict[str, str] = {
    "pig": "PIG vs PINN vs DeepXDE's PINN on 2D Helmholtz at equal wall time",
    "lpinn": "Lagrangian PINN vs PINN on fast periodic transport (beta sweep) and moving-front Burgers",
    "ggn": "graph neural Galerkin networks: forward and inverse problems on unstructured meshes, cost vs mesh size",
    "deeponet": "DeepONet on the antiderivative (10k/100k triplets) and the pendulum, vs an FNN and DeepXDE's DeepONet",
    "insr": "INSR time-stepped neural fields: 1D advection to t = 12, 2D advection at equal memory, Taylor-Green",
    "linear": "deep conjugate directions vs CG, IC(0)-PCG, pyamg and direct on held-out pressure systems, 64^2-1024^2 and 32^3-64^3",
    "hypino": "HyPINO zero-shot, delta-PINN refinement and fine-tuning vs random init on seven paper-style problems",
    "peers": "side by side with DeepXDE (PINN, DeepONet), SciPy-style CG / IC(0)-PCG, pyamg; ratios at equal time and error",
    "robust": "pinn and pig with default settings on the development set of untuned problems (benchmarks/robust)",
    "mgno": "MgNO on Darcy flow (1,000/200 at 64^2) vs neuraloperator's FNO, inference vs the FD reference, 128^2 inputs",
    "inverse": "scalar and field unknowns from observations (source, Lame, viscosity, speed, conductivity), "
               "every solver that reads [inverse] vs DeepXDE's dde.Variable, noise-free and 1% noise",
}


def run_benchmark(name: str, out: Path, budget_s: float | None, quiet: bool = False, **extra: Any) -> int:
    """Run the benchmark ``name``; returns the exit code. ``extra`` (options, only, jobs, tag) is
    read by ``robust`` and ``inverse``, ``solvers`` by ``robust``; ``hypino`` and ``linear`` read ``options["model"]``."""
    if name not in BENCHMARKS:
        raise ProblemError(f"unknown benchmark {name!r} (available: {', '.join(BENCHMARKS)})")
    if name in ("hypino", "linear"):
        options = extra.pop("options", None) or {}
        if extra.get("only") or extra.get("jobs", 1) != 1 or extra.get("tag") or extra.get("solvers") or set(options) - {"model"}:
            raise ProblemError(f"the {name} benchmark takes one option, --set model=FILE (a "
                               f"{'HyPINO' if name == 'hypino' else 'DCDM'} model file; default: the shipped one)")
        if name == "hypino":
            from .hypino import run as hypino

            return hypino(out, budget_s, quiet, model_file=options.get("model"))
        from .linear import run as linear

        return linear(out, budget_s, quiet, model_file=options.get("model"))
    if extra and name not in ("robust", "inverse"):
        raise ProblemError(f"--set, --solver, --only, --jobs and --tag apply to the robust and inverse benchmarks, "
                           f"not to {name!r}")
    if name == "robust":
        from .robust import run as robust

        return robust(out, budget_s, quiet, **extra)
    if name == "inverse":
        if extra.get("options") or extra.get("solvers"):
            raise ProblemError("--set and --solver apply to the robust benchmark (inverse runs default settings "
                               "of every solver that reads [inverse])")
        from .inverse import run as inverse

        return inverse(out, budget_s, quiet, **{k: v for k, v in extra.items() if k != "options"})
    runner: Callable[..., int]
    if name == "pig":
        from .pig import run as runner
    elif name == "lpinn":
        from .lpinn import run as runner
    elif name == "ggn":
        from .ggn import run as runner
    elif name == "deeponet":
        from .deeponet import run as runner
    elif name == "insr":
        from .insr import run as runner
    elif name == "peers":
        from .side_by_side import run as runner
    elif name == "mgno":
        from .mgno import run as runner
    return runner(out, budget_s, quiet)
