"""Validation harness: runs the cases of a suite file (the shipped one:
``sciml/shipped/suites/validation.toml``) and writes ``REPORT.md`` and ``results.json``.

A case names a problem (a shipped problem's name, or a path relative to the suite file), a solver, the suites it belongs to, overrides (budgets are solver
options such as ``solver.pinn.max_seconds``) and an error bound::

    [[case]]
    problem = "poisson-square"
    solver = "reference"
    suites = ["quick", "full"]
    set = ["reference.h=0.02"]
    max_rel_l2 = 1e-2

Every case also leaves a picture of its solution, the truth it was compared with and the error
(``figures/<problem>-<solver>.png`` beside the report).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProblemError, SciMLError
from ..io import write_json, write_text
from .report import read_peer_curves, render_report, write_pareto

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Case:
    problem: Path
    solver: str
    suites: tuple[str, ...]
    overrides: tuple[str, ...] = ()
    max_rel_l2: float | None = None
    note: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the case's row in a results file: problem stem, solver, overrides."""
        return (self.problem.stem, self.solver, tuple(self.overrides))


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The :attr:`Case.key` of a saved row."""
    return (row.get("problem"), row.get("solver"), tuple(row.get("overrides", [])))


def _failures(rows: list[dict[str, Any]]) -> int:
    return sum(r["status"] in ("fail", "error") for r in rows)


def read_suite(path: Path) -> list[Case]:
    """Parse a suite file; a problem is a path relative to the suite file's folder or the name
    of a shipped problem."""
    if not path.is_file():
        raise ProblemError("suite file not found", path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProblemError(f"malformed TOML: {exc}", path) from None
    from ..shipped import find_problem

    folder = path.resolve().parent
    cases = []
    allowed = {"problem", "solver", "suites", "set", "max_rel_l2", "note"}
    for i, c in enumerate(data.get("case", [])):
        unknown = set(c) - allowed
        if unknown:
            raise ProblemError(f"unknown key (allowed: {', '.join(sorted(allowed))})", path,
                               f"case.{i}.{sorted(unknown)[0]}")
        if "problem" not in c or "solver" not in c:
            raise ProblemError("a case needs problem and solver", path, f"case.{i}")
        problem = folder / c["problem"]
        if not problem.is_file():
            shipped = find_problem(c["problem"])
            if shipped is None:
                raise ProblemError("no such problem file nor shipped problem", path, f"case.{i}.problem")
            problem = shipped
        cases.append(Case(problem, c["solver"], tuple(c.get("suites", ["quick", "full"])),
                          tuple(c.get("set", [])), c.get("max_rel_l2"), c.get("note", "")))
    return cases


def case_options(solver: str, device: str | None) -> dict[str, Any]:
    """Run-time options of a case: the device (for solvers that take one) and no progress bar."""
    from ..config import option_names
    from ..solvers import get_class

    known = option_names(get_class(solver).config_class)
    options: dict[str, Any] = {"progress": False} if "progress" in known else {}
    if device and "device" in known:
        options["device"] = device
    return options


def figure_name(row: dict[str, Any]) -> str:
    """``<problem>-<solver>[-<crc of the overrides>].png``: stable across runs."""
    extra = f"-{zlib.crc32(' '.join(row['overrides']).encode()):08x}" if row["overrides"] else ""
    return f"{row['problem']}-{row['solver']}{extra}.png"


def _case_row(case: Case) -> dict[str, Any]:
    return {"problem": case.problem.stem, "solver": case.solver, "max_rel_l2": case.max_rel_l2,
            "overrides": list(case.overrides), "note": case.note}


def run_case(case: Case, device: str | None = None, figures: Path | None = None) -> dict[str, Any]:
    """Run one case (on ``device`` for the torch solvers); failures become a result with
    ``status`` ``error``. With ``figures``, the case's picture is written there."""
    from ..plotting import plot_comparison
    from ..problems import load_problem
    from ..problems.family import member
    from ..runner import run

    row = _case_row(case)
    start = time.perf_counter()
    try:
        problem = member(load_problem(case.problem, case.overrides), 0)  # a family: the member run() solves
        reference: list[Any] = []
        sol, summary = run(problem, case.solver, case_options(case.solver, device), keep_reference=reference)
        row.update({k: summary[k] for k in ("pde", "wall_s", "n_params", "rel_l2", "max_abs_err",
                                            "compared_to", "threads")})
        if figures is not None and summary["rel_l2"] is not None and problem.dim <= 3:  # no picture above 3D
            row["figure"] = f"{figures.name}/{figure_name(row)}"
            plot_comparison(sol, problem, reference[0] if reference else None, figures / figure_name(row))
        err = summary["rel_l2"]
        if case.max_rel_l2 is None:
            row["status"] = "reported"  # measured, no bound to meet
        else:
            row["status"] = "pass" if err is not None and err <= case.max_rel_l2 else "fail"
    except SciMLError as exc:
        row.update(status="error", error=str(exc), wall_s=time.perf_counter() - start)
    except Exception as exc:  # a crash in one case must not hide the others
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(), wall_s=time.perf_counter() - start)
    return row


def environment(device: str | None) -> dict[str, Any]:
    """Where the suite ran: CPU, GPU, torch, threads, date."""
    import torch

    gpu = torch.cuda.get_device_name(0) if device and device.startswith("cuda") and torch.cuda.is_available() else None
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "device": device or "cpu", "gpu": gpu,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def _start_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _run_cases(cases: list[Case], device: str | None, fig_dir: Path | None, jobs: int,
               quiet: bool) -> list[dict[str, Any]]:
    """The rows of ``cases`` in their order; with ``jobs > 1`` that many run at a time, each in
    its own process with this process's torch thread count."""
    def report(done: int, row: dict[str, Any]) -> None:
        if not quiet:
            err = row.get("rel_l2")
            print(f"[{done}/{len(cases)}] {row['status']:<8} {row['problem']:<32} {row['solver']:<10} "
                  f"rel L2 {err if err is None else format(err, '.2e')}  {row['wall_s']:.1f} s", flush=True)

    if jobs == 1:
        rows = []
        for case in cases:
            rows.append(run_case(case, device, fig_dir))
            report(len(rows), rows[-1])
        return rows
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import torch

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(torch.get_num_threads(),)) as pool:
        futures = {pool.submit(run_case, case, device, fig_dir): i for i, case in enumerate(cases)}
        results: dict[int, dict[str, Any]] = {}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # the worker process died (killed, out of memory): a row, not a lost run
                results[i] = {**_case_row(cases[i]), "status": "error", "wall_s": 0.0,
                              "error": f"worker process failed: {type(exc).__name__}: {exc}"}
            report(len(results), results[i])
    return [results[i] for i in range(len(cases))]


def run_suite(suite_file: Path, suite: str, solvers: list[str] | None, out: Path,
              quiet: bool = False, problems: list[str] | None = None, device: str | None = None,
              figures: bool = True, peers: Path | None = None, jobs: int = 1) -> int:
    """Run the cases of ``suite`` (optionally only some solvers and problems, by file stem,
    torch solvers on ``device``); returns the failure count. With a filter, the rows of an
    earlier run of the same suite for the cases not run are kept. ``peers``: the JSON of a
    ``sciml benchmark peers`` run, whose peer curves join the accuracy-versus-time panels.
    ``jobs``: cases run at a time, each in its own process (keep ``jobs`` x threads within the
    cores, or the wall times and the time-budgeted errors suffer)."""
    if jobs < 1:
        raise ProblemError(f"jobs must be >= 1, got {jobs}")
    if device is not None:
        from ..nn.fit import torch_device

        torch_device(device)  # refuse a missing GPU before any case runs
    cases = [c for c in read_suite(suite_file)
             if suite in c.suites and (not solvers or c.solver in solvers)
             and (not problems or c.problem.stem in problems)]
    if not cases:
        raise ProblemError(f"no cases in suite {suite!r}" + (f" for {solvers}" if solvers else "")
                           + (f" and problems {problems}" if problems else ""), suite_file)
    fig_dir = out / "figures" if figures else None
    if fig_dir is not None:
        fig_dir.mkdir(parents=True, exist_ok=True)
    rows = _run_cases(cases, device, fig_dir, jobs, quiet)
    if solvers or problems:
        rows = _merge_previous(out / "results.json", suite, rows, read_suite(suite_file))
    out.mkdir(parents=True, exist_ok=True)
    command = "sciml validate --suite " + suite + "".join(f" --solver {x}" for x in solvers or []) \
        + "".join(f" --problem {x}" for x in problems or []) + (f" --device {device}" if device else "") \
        + (f" --jobs {jobs}" if jobs > 1 else "") + f" --out {out}" + (f" --peers {peers}" if peers else "")
    meta = {"suite": suite, "command": command, "partial": bool(solvers or problems), "jobs": jobs,
            **environment(device)}
    write_json(out / "results.json", {"meta": meta, "results": rows})
    _write_report(out, meta, rows, peers)
    return _failures(rows)


def _write_report(out: Path, meta: dict[str, Any], rows: list[dict[str, Any]], peers: Path | None) -> None:
    curves, meta["peers_date"] = read_peer_curves(peers) if peers is not None else ({}, None)
    meta["pareto"] = write_pareto(out / "pareto.png", rows, curves) is not None
    write_text(out / "REPORT.md", render_report(meta, rows))


def rewrite_report(suite_file: Path, out: Path, peers: Path | None = None) -> int:
    """Write ``REPORT.md`` and ``pareto.png`` again from ``out/results.json`` without running a
    case: the notes come from ``suite_file`` as it is now (rows of cases no longer in it keep
    theirs), the peers' curves from ``peers``. Returns the failure count of the saved rows."""
    path = out / "results.json"
    try:
        saved = json.loads(path.read_text())
        meta, rows = saved["meta"], saved["results"]
    except FileNotFoundError:
        raise ProblemError("no results to report: run `sciml validate` first", path) from None
    except (ValueError, KeyError, TypeError):
        raise ProblemError("not a results file of `sciml validate`", path) from None
    notes = {c.key: c.note for c in read_suite(suite_file)}
    for r in rows:
        r["note"] = notes.get(_row_key(r), r.get("note", ""))
    write_json(path, {"meta": meta, "results": rows})
    _write_report(out, meta, rows, peers)
    return _failures(rows)


def _merge_previous(path: Path, suite: str, rows: list[dict[str, Any]],
                    cases: list[Case]) -> list[dict[str, Any]]:
    """Add the rows of an earlier run of the same suite for the cases not run now (``--solver``
    and ``--problem`` update part of the report), in the suite file's order."""
    if not path.is_file():
        return rows
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return rows
    if previous.get("meta", {}).get("suite") != suite:
        return rows
    wanted = {c.key for c in cases if suite in c.suites}
    done = {_row_key(r) for r in rows}
    kept = [r for r in previous.get("results", []) if _row_key(r) in wanted and _row_key(r) not in done]
    order = {c.key: i for i, c in enumerate(cases)}
    return sorted(kept + rows, key=lambda r: order.get(_row_key(r), 0))
