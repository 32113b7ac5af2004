"""``sciml benchmark robust``: ``pinn`` and ``pig`` with default settings on problems nobody tuned.

The development set (``sciml/shipped/suites/robust/*.toml``; ``benchmarks/robust/`` in a
checkout) holds problems of the kinds the field's standard PINN benchmark is made of, written for this benchmark and not copies of the shipped
files: disks cut out of a rectangle with mixed conditions, reaction-diffusion on non-convex
domains with holes, wave equations in space-time, multi-scale and anisotropic diffusion (steady
and transient), long-time heat with a nonlinear source, 3D inclusions, Burgers and a problem
whose lengths and values are nowhere near 1. Every case runs with the solver's defaults (no
``[solver.*]`` section in these files) under the same wall-clock budget, one thread per case;
the error is the relative L2 error against ``[exact]`` or the SciPy reference. ``--set
KEY=VALUE`` switches an option for every case (the ablation in docs/benchmarks.md turns one
robustness feature off at a time this way).
"""

from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Mapping

from ..errors import ProblemError, SciMLError
from ..io import write_json, write_text
from ..shipped import suite_folder
from .curves import environment

DEV_SET = suite_folder("robust")
SOLVERS = ("pinn", "pig")
BUDGET_S = 180.0


def dev_problems(only: list[str] | None = None) -> list[Path]:
    """The development set's problem files (``only``: the names to keep)."""
    files = sorted(DEV_SET.glob("*.toml"))
    if only:
        unknown = set(only) - {f.stem for f in files}
        if unknown:
            raise ProblemError(f"not in the development set: {', '.join(sorted(unknown))} "
                               f"(cases: {', '.join(f.stem for f in files)})")
        files = [f for f in files if f.stem in only]
    return files


def _one(path: str, solver: str, budget: float, options: Mapping[str, Any]) -> dict[str, Any]:
    """One case in its own process, one thread."""
    import torch

    torch.set_num_threads(1)
    from ..problems import load_problem
    from ..runner import run as run_solver

    problem = load_problem(path)
    row: dict[str, Any] = {"problem": problem.name, "solver": solver, "transient": problem.transient,
                           "dim": problem.dim}
    start = time.perf_counter()
    try:
        _, summary = run_solver(problem, solver, {"max_seconds": budget, "progress": False, **options})
    except SciMLError as exc:
        row.update(rel_l2=math.nan, wall_s=time.perf_counter() - start, status="failed", error=str(exc))
        return row
    except Exception as exc:  # an internal error is a result of this benchmark too, not its end
        row.update(rel_l2=math.nan, wall_s=time.perf_counter() - start, status="crashed",
                   error=f"{type(exc).__name__}: {exc}")
        return row
    train = summary["info"].get("train", {})
    row.update(rel_l2=summary["rel_l2"], wall_s=summary["wall_s"], status="ok",
               stopped=train.get("stopped"), steps=train.get("adam_steps", 0) + train.get("lbfgs_steps", 0),
               recoveries=len(train.get("recoveries", [])), kept=train.get("kept"),
               vs_trivial=train.get("score_vs_trivial"), data_miss=train.get("data_miss"),
               residual_ratio=train.get("residual_ratio"), law_misfit=train.get("law_misfit"),
               features=summary["info"].get("features", {}), warnings=summary["warnings"])
    return row


def run_cases(files: list[Path], budget: float, options: Mapping[str, Any], jobs: int,
              quiet: bool = False, solvers: tuple[str, ...] = SOLVERS) -> list[dict[str, Any]]:
    """Every (problem, solver) case, ``jobs`` at a time."""
    cases = [(str(f), s) for f in files for s in solvers]
    rows = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_one, f, s, budget, dict(options)) for f, s in cases]
        for fut in futures:
            row = fut.result()
            rows.append(row)
            if not quiet:
                print(f"{row['problem']:32s} {row['solver']:5s} rel L2 {row['rel_l2']:.3e} "
                      f"({row['status']}, {row['wall_s']:.0f} s)", flush=True)
    return rows


def bound(row: Mapping[str, Any]) -> float:
    """The issue's bound for a case: 5e-2 steady, 1e-1 transient."""
    return 1e-1 if row["transient"] else 5e-2


def flagged(row: Mapping[str, Any]) -> bool:
    """Whether a run's summary carries a warning that its solution is likely wrong (a stall,
    unmet data, a field off its flux, terms that do not cancel)."""
    from ..nn.fit import LIKELY_WRONG

    return any(LIKELY_WRONG in w for w in row.get("warnings") or ())


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def report(rows: list[dict[str, Any]], budget: float, options: Mapping[str, Any]) -> str:
    """Markdown: one row per problem with the solvers run and the better one against its bound."""
    by = {(r["problem"], r["solver"]): r for r in rows}
    problems = sorted({r["problem"] for r in rows})
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    lines = [f"Budget {budget:g} s per case, one thread, default settings"
             + (f" with {', '.join(f'{k} = {v}' for k, v in options.items())}" if options else "")
             + ("" if len(solvers) == len(SOLVERS) else f", {' and '.join(solvers)} only (the bound is for the better "
                                                         f"of {' and '.join(SOLVERS)})") + ".", "",
             f"| problem | {' | '.join(solvers)} | better | bound | met |",
             "|---|" + "---:|" * (len(solvers) + 2) + ":-:|"]
    best = []
    for name in problems:
        # a failed run's NaN comes back from the JSON file as None
        errs = {s: _or_nan(by[(name, s)]["rel_l2"]) for s in solvers if (name, s) in by}
        finite = [e for e in errs.values() if math.isfinite(e)]
        b = min(finite) if finite else math.nan
        best.append(b)
        limit = bound(next(r for r in rows if r["problem"] == name))
        cells = " | ".join(f"{errs[s]:.2e}" if math.isfinite(errs.get(s, math.nan)) else "failed" for s in solvers)
        lines.append(f"| {name} | {cells} | {b:.2e} | {limit:g} | {'yes' if b < limit else 'no'} |")
    finite = [b for b in best if math.isfinite(b)]
    met = sum(1 for name, b in zip(problems, best) if b < bound(next(r for r in rows if r['problem'] == name)))
    lines += ["", f"Bounds met: {met} of {len(problems)}; median of the better error "
              f"{statistics.median(finite):.3g}." if finite else "no case finished"]
    rolled = [f"{r['problem']} {r['solver']} ({r['recoveries']})" for r in rows if r.get("recoveries")]
    lines += ["", "Roll-backs of the divergence guard: " + (", ".join(rolled) if rolled else "none") + "."]
    from ..nn.fit import DATA_MISS, STALL_RATIO

    stalled = [f"{r['problem']} {r['solver']} ({r['vs_trivial']:.2g})" for r in rows
               if r.get("vs_trivial") is not None and r["vs_trivial"] >= STALL_RATIO]
    lines += ["", "Runs flagged as stalled (kept state's score over the data-only field's, warned at "
              f"{STALL_RATIO:g} or more): " + (", ".join(stalled) if stalled else "none") + "."]
    unmet = [f"{r['problem']} {r['solver']} ({name} {miss:.0%})" for r in rows
             for name, miss in (r.get("data_miss") or {}).items() if miss >= DATA_MISS]
    lines += ["", f"Runs leaving value data unmet (RMS miss of {DATA_MISS:.0%} of the output scale or more): "
              + (", ".join(unmet) if unmet else "none") + "."]
    silent = [f"{r['problem']} {r['solver']} ({r['rel_l2']:.2g})" for r in rows
              if r.get("status", "ok") == "ok" and not _or_nan(r["rel_l2"]) < bound(r) and not flagged(r)]
    lines += ["", "Runs above the bound with no warning that the solution is likely wrong: "
              + (", ".join(silent) if silent else "none") + "."]
    first = next((r for r in rows if r.get("features")), None)
    if first is not None:
        lines += ["", f"Features on ({first['solver']} on {first['problem']}; they differ by case): "
                  + ", ".join(f"{k} = {v}" for k, v in first["features"].items()) + "."]
    return "\n".join(lines)


def run(out: Path, budget_s: float | None, quiet: bool = False, options: Mapping[str, Any] | None = None,
        only: list[str] | None = None, jobs: int = 1, tag: str = "robust", solvers: list[str] | None = None) -> int:
    """Run the development set; writes ``<tag>.json`` and ``<tag>.md`` under ``out``. ``solvers``
    (default both) narrows an ablation to the solver a feature applies to."""
    budget = float(budget_s or BUDGET_S)
    options = dict(options or {})
    unknown = set(solvers or ()) - set(SOLVERS)
    if unknown:
        raise ProblemError(f"--solver: the robust benchmark runs {' and '.join(SOLVERS)}, not {', '.join(sorted(unknown))}")
    chosen = tuple(s for s in SOLVERS if not solvers or s in solvers)
    rows = run_cases(dev_problems(only), budget, options, jobs, quiet, chosen)
    text = report(rows, budget, options)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{tag}.json", {"budget_s": budget, "options": options, "environment": environment(),
                                     "rows": rows})
    write_text(out / f"{tag}.md", f"# Robustness development set ({tag})\n\n{text}\n")
    return 0
