"""The validation harness can fail (a tampered solution fails its case), reproduces its numbers
from the same seed, leaves a picture per case, and the shipped quick suite passes (CI's smoke
test of every solver through the harness)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sciml.solvers.reference import ReferenceSolver
from sciml.shipped import suite_file
from sciml.validation import run_suite
from sciml.validation.harness import Case, run_case

ROOT = Path(__file__).resolve().parent.parent


def test_a_tampered_solution_fails_its_case(monkeypatch, tmp_path):
    case = Case(ROOT / "problems" / "poisson-square.toml", "reference", ("quick",), max_rel_l2=1e-3)
    honest = run_case(case)
    assert honest["status"] == "pass"
    solve = ReferenceSolver.solve

    def tampered(self, problem):
        sol = solve(self, problem)
        sol.values = sol.values * 1.1
        return sol

    monkeypatch.setattr(ReferenceSolver, "solve", tampered)
    row = run_case(case, figures=tmp_path)
    assert row["status"] == "fail" and row["rel_l2"] == pytest.approx(0.1, rel=0.05)
    assert (tmp_path / "poisson-square-reference.png").stat().st_size > 1000


def test_the_same_seed_gives_the_same_numbers():
    case = Case(ROOT / "problems" / "poisson-square.toml", "pinn", ("quick",),
                ("solver.pinn.hidden=[16]", "solver.pinn.adam_steps=30", "solver.pinn.lbfgs_steps=2",
                 "solver.pinn.n_interior=64", "solver.pinn.n_boundary=16"))
    first, second = run_case(case), run_case(case)
    assert first["status"] == second["status"] == "reported"
    assert first["rel_l2"] == second["rel_l2"] and first["max_abs_err"] == second["max_abs_err"]


@pytest.mark.skipif(os.environ.get("SCIML_SKIP_QUICK_SUITE") == "1", reason="quick suite skipped on request")
def test_the_shipped_quick_suite_passes(tmp_path):
    failed = run_suite(suite_file("validation"), "quick", None, tmp_path, quiet=True)
    results = json.loads((tmp_path / "results.json").read_text())
    bad = [(r["problem"], r["solver"], r.get("rel_l2"), r.get("error")) for r in results["results"]
           if r["status"] in ("fail", "error")]
    assert failed == 0, bad
    solvers = {r["solver"] for r in results["results"]}
    assert {"reference", "pinn", "pig", "lpinn", "ggn", "insr", "deeponet", "mgno", "dcdm", "hypino"} <= solvers
    assert results["meta"]["torch"] and np.all([r["wall_s"] >= 0 for r in results["results"]])


def test_the_pareto_figure_has_a_panel_per_shared_problem(tmp_path):
    from sciml.validation.report import write_pareto

    rows = [{"problem": "p", "solver": "reference", "rel_l2": 1e-4, "wall_s": 0.1},
            {"problem": "p", "solver": "pinn", "rel_l2": 1e-2, "wall_s": 30.0, "overrides": ["x=1"]},
            {"problem": "q", "solver": "pinn", "rel_l2": 1e-2, "wall_s": 3.0}]
    assert write_pareto(tmp_path / "a.png", rows) == tmp_path / "a.png" and (tmp_path / "a.png").stat().st_size > 1000
    assert write_pareto(tmp_path / "b.png", rows[1:]) is None  # no problem with two solvers


def test_peer_curves_join_the_pareto_panels(tmp_path):
    from sciml.validation.report import read_peer_curves, write_pareto

    peer = {"solver": "deepxde-pinn", "wall_s": 4.0, "rel_l2": 2e-2, "curve": [[0.0, 1.0], [1.0, 0.5], [4.0, 2e-2]]}
    ours = {"solver": "pinn", "wall_s": 4.0, "rel_l2": 1e-2, "curve": [[4.0, 1e-2]]}
    data = {"meta": {"date": "2026-01-01 00:00:00"},
            "results": [{"problem": "q", "kind": "pinn", "entries": [ours, peer],
                         "ratios": [{"ours": "pinn", "peer": "deepxde-pinn"}]},
                        {"problem": "op", "kind": "operator", "entries": [peer],
                         "ratios": [{"ours": "x", "peer": "deepxde-pinn"}]}]}
    (tmp_path / "peers.json").write_text(json.dumps(data))
    curves, date = read_peer_curves(tmp_path / "peers.json")
    assert list(curves) == ["q"] and curves["q"] == [peer] and date == "2026-01-01 00:00:00"
    assert read_peer_curves(tmp_path / "missing.json") == ({}, None)
    rows = [{"problem": "q", "solver": "pinn", "rel_l2": 1e-2, "wall_s": 3.0}]
    assert write_pareto(tmp_path / "a.png", rows) is None  # one solver alone
    assert write_pareto(tmp_path / "a.png", rows, curves) == tmp_path / "a.png"  # with the peer: a panel


def test_the_report_has_a_problem_by_solver_matrix():
    from sciml.validation.report import render_report

    meta = {"suite": "full", "date": "d", "cpus": 2, "python": "3", "cpu": "x"}
    rows = [{"problem": "p", "solver": "pinn", "rel_l2": 1e-2, "status": "pass", "wall_s": 1.0},
            {"problem": "p", "solver": "pinn", "rel_l2": 2e-2, "status": "reported", "wall_s": 1.0},
            {"problem": "a", "solver": "ggn", "rel_l2": 0.5, "status": "fail", "wall_s": 1.0},
            {"problem": "a", "solver": "pinn", "status": "error", "error": "boom", "wall_s": 1.0}]
    text = render_report(meta, rows)
    assert "| problem | pinn | ggn |" in text
    assert "| a | error | 5.0e-01 ✗ |" in text and "| p | 1.0e-02 ✓<br>2.0e-02 |  |" in text
    assert "1 of 3 cases with a bound pass; 1 more" in text and "- a / pinn: boom" in text


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-CUDA refusal")
def test_validate_on_cuda_without_a_gpu_refuses_before_running(tmp_path, capsys):
    from sciml.cli import main

    code = main(["validate", "--suite", "quick", "--solver", "pinn", "--device", "cuda", "--out", str(tmp_path)])
    assert code == 2 and "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "REPORT.md").exists()
