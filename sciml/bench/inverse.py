"""``sciml benchmark inverse``: identifying parameters and coefficient fields from observations.

Every solver that reads ``[inverse]`` runs the shipped inverse problems with its default settings
under the same wall-clock budget, noise-free and with 1% relative noise: the source amplitude of
a Poisson problem, the Lame parameters of a plate with a hole, Burgers' viscosity (DeepXDE's
classic example), a convection speed and a conductivity field. DeepXDE's ``dde.Variable`` (its
documented way to identify a parameter) runs the scalar problems its adapter can translate, on
the same observations with the same network (4 x 50 tanh) and budget; the ratio of our parameter
error to DeepXDE's is reported per case (below 1: ours is closer). The physics-informed solvers
fit the observations as a data term (``mode = "soft"``, as DeepXDE's ``PointSetBC``); ``ggn``
keeps the files' nodal (``hard``) observations of its own mesh.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ProblemError, SciMLError
from ..io import write_json, write_text
from ..shipped import problems_folder
from .curves import environment

PROBLEMS = problems_folder()
#: case -> (problem file, solvers that read [inverse] and take it, whether DeepXDE's adapter does)
CASES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "source": ("poisson-source-inverse.toml", ("pinn", "pig", "ggn"), True),
    "lame": ("elasticity-lame-inverse.toml", ("pinn", "pig", "ggn"), False),
    "viscosity": ("burgers-viscosity-inverse.toml", ("pinn", "pig"), True),
    "speed": ("convection-speed-inverse.toml", ("pinn", "pig", "lpinn"), True),
    "k-field": ("poisson-coefficient-inverse.toml", ("pinn", "pig"), False),
}
NOISES = (0.0, 0.01)
BUDGET_S = 300.0


def _overrides(solver: str, noise: float) -> list[str]:
    out = [f"inverse.noise={noise!r}"]
    if solver != "ggn":
        out.append('inverse.mode="soft"')
    return out


def _one(case: str, solver: str, noise: float, budget: float) -> dict[str, Any]:
    """One run in its own process, one thread."""
    import torch

    torch.set_num_threads(1)
    from ..problems import load_problem

    file = PROBLEMS / CASES[case][0]
    row: dict[str, Any] = {"case": case, "solver": solver, "noise": noise}
    start = time.perf_counter()
    try:
        problem = load_problem(file, _overrides(solver, noise))
        if solver == "deepxde":
            row.update(_deepxde(problem, budget))
        else:
            row.update(_ours(problem, solver, budget))
    except SciMLError as exc:
        row.update(status="failed", error=str(exc), wall_s=time.perf_counter() - start)
    return row


def _ours(problem: Any, solver: str, budget: float) -> dict[str, Any]:
    from ..runner import run

    _, summary = run(problem, solver, {"max_seconds": budget, "progress": False})
    info = summary["info"]
    train = info.get("train", {})
    return {"status": "ok", "wall_s": summary["wall_s"], "rel_l2_u": summary["rel_l2"],
            "steps": train.get("adam_steps", 0) + train.get("lbfgs_steps", 0),
            "recovered": {k: v["recovered"] for k, v in info.get("inverse", {}).items()},
            "true": {k: v["true"] for k, v in info.get("inverse", {}).items()},
            "errors": {k: v["rel_error"] for k, v in info.get("inverse", {}).items()},
            "field_errors": {k: v["rel_l2"] for k, v in info.get("inverse_fields", {}).items()},
            "observations": info.get("observations", {}).get("count")}


def _deepxde(problem: Any, budget: float) -> dict[str, Any]:
    from ..nn.inverse import observations
    from ..problems.inverse import inverse_spec
    from .peers import deepxde_inverse

    spec = inverse_spec(problem)
    assert spec is not None
    points, values = observations(spec, problem)  # the same draws as our solvers'
    out = deepxde_inverse(problem, points, values, spec.unknowns, budget)
    true = {k: float(problem.parameters[k]) for k in spec.unknowns}
    return {"status": "ok", "wall_s": out["wall_s"], "steps": out["steps"], "recovered": out["recovered"],
            "true": true, "errors": {k: abs(v - true[k]) / abs(true[k]) for k, v in out["recovered"].items()},
            "history": out["history"], "notes": out["notes"], "observations": len(points)}


def _worst(row: dict[str, Any]) -> float:
    errs = [*row.get("errors", {}).values(), *row.get("field_errors", {}).values()]
    return max(errs) if errs and row.get("status") == "ok" else math.nan


def report(rows: list[dict[str, Any]], budget: float) -> str:
    """Markdown: one line per (case, noise, solver), the parameter errors and the ratio to DeepXDE."""
    lines = [f"Budget {budget:g} s per run, one thread, default settings; relative errors of the recovered "
             "unknowns (a field: its relative L2 error). Ratio: our worst error over DeepXDE's on the same "
             "observations (below 1: ours is closer).", "",
             "| case | noise | solver | recovered | rel. error | ratio to DeepXDE | wall s | steps |",
             "|---|---:|---|---|---:|---:|---:|---:|"]
    dde = {(r["case"], r["noise"]): _worst(r) for r in rows if r["solver"] == "deepxde"}
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['case']} | {r['noise']:g} | {r['solver']} | {r.get('error', 'failed')} | | | | |")
            continue
        rec = ", ".join([*(f"{k} = {v:.5g}" for k, v in r["recovered"].items()),
                         *(f"{k}(x)" for k in r.get("field_errors", {}))])
        worst = _worst(r)
        ref = dde.get((r["case"], r["noise"]), math.nan)
        ratio = f"{worst / ref:.3g}" if r["solver"] != "deepxde" and math.isfinite(ref) and ref > 0 else ""
        lines.append(f"| {r['case']} | {r['noise']:g} | {r['solver']} | {rec} | {worst:.2e} | {ratio} | "
                     f"{r['wall_s']:.0f} | {r.get('steps', '')} |")
    return "\n".join(lines)


def run(out: Path, budget_s: float | None, quiet: bool = False, only: list[str] | None = None,
        jobs: int = 1, tag: str = "inverse") -> int:
    """Run every case (``only``: the cases to keep); writes ``<tag>.json`` and ``<tag>.md``."""
    budget = float(budget_s or BUDGET_S)
    unknown = set(only or ()) - set(CASES)
    if unknown:
        raise ProblemError(f"not an inverse benchmark case: {', '.join(sorted(unknown))} (cases: {', '.join(CASES)})")
    cases = [c for c in CASES if not only or c in only]
    runs = [(c, s, n) for c in cases for n in NOISES
            for s in (*CASES[c][1], *(("deepxde",) if CASES[c][2] else ()))]
    rows = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for fut in [pool.submit(_one, c, s, n, budget) for c, s, n in runs]:
            row = fut.result()
            rows.append(row)
            if not quiet:
                print(f"{row['case']:10s} noise {row['noise']:<5g} {row['solver']:8s} worst error "
                      f"{_worst(row):.3e} ({row.get('status')}, {row.get('wall_s', 0):.0f} s)", flush=True)
    text = report(rows, budget)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{tag}.json", {"budget_s": budget, "environment": environment(), "rows": rows})
    write_text(out / f"{tag}.md", f"# Inverse problems ({tag})\n\n{text}\n")
    return 0
