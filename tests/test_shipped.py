"""Every shipped problem file loads and solves with the reference (custom PDEs: refused, and they
have an exact solution); exact ones within 1e-2."""

import json
from pathlib import Path

import numpy as np
import pytest

from sciml.errors import ProblemError
from sciml.problems import SPECS, load_problem
from sciml.runner import run
from sciml.shipped import suite_file
from sciml.validation import read_suite, rewrite_report, run_suite

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "problems").glob("*.toml"))


def test_shipped_problems_cover_every_pde_type():
    assert len(FILES) >= 14
    assert {load_problem(f).pde.type for f in FILES} == set(SPECS)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_reference_solves_shipped_problem(path, tmp_path):
    problem = load_problem(path)
    if "reference" not in problem.pde.spec.traits:  # a custom PDE: refused, measured against [exact]
        assert problem.has_exact
        with pytest.raises(ProblemError, match="no SciPy reference solves"):
            run(problem, "reference")
        return
    sol, summary = run(problem, "reference")
    assert sol.values.size and (sol.values == sol.values).all()
    if problem.has_exact:
        assert summary["compared_to"] == "exact"
        assert summary["rel_l2"] < 1e-2
    if sol.kind == "grid" or sol.transient:  # xarray sees named dimensions and one variable per field
        xr = pytest.importorskip("xarray")
        sol.save(tmp_path, png=False)
        with xr.open_dataset(tmp_path / "solution.h5", engine="h5netcdf") as ds:
            space = sol.axis_names if sol.kind == "grid" else ("node",)
            for i, name in enumerate(sol.fields):
                assert ds[name].dims == (("t",) if sol.transient else ()) + space
                assert np.allclose(ds[name].values.reshape(sol.values[..., i].shape), sol.values[..., i])


def test_validation_suite_writes_report(tmp_path):
    suite = tmp_path / "validation" / "suite.toml"
    suite.parent.mkdir()
    (tmp_path / "problems").mkdir()
    (tmp_path / "problems" / "sq.toml").write_text((ROOT / "problems" / "poisson-square.toml").read_text())
    suite.write_text('[[case]]\nproblem = "../problems/sq.toml"\nsolver = "reference"\nsuites = ["quick"]\n'
                     'set = ["reference.h=0.05"]\nmax_rel_l2 = 1e-2\n\n'
                     '[[case]]\nproblem = "../problems/sq.toml"\nsolver = "reference"\nsuites = ["quick"]\n'
                     'set = ["reference.h=0.5"]\nmax_rel_l2 = 1e-6\n')
    failed = run_suite(suite, "quick", None, tmp_path / "report", quiet=True)
    assert failed == 1
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "| sq | reference | poisson |" in report and "1 of 2 cases with a bound pass" in report
    assert (tmp_path / "report" / "results.json").is_file()


def test_shipped_suite_is_valid():
    cases = read_suite(suite_file("validation"))
    assert cases and all(c.problem.is_file() for c in cases)


def _tiny_suite(root: Path, *pinn_steps: int) -> Path:
    """A suite of a 1D Poisson problem: the reference and one tiny PINN case per step count."""
    suite = root / "validation" / "suite.toml"
    suite.parent.mkdir()
    (root / "problems").mkdir()
    (root / "problems" / "p.toml").write_text(
        'name = "p"\n[pde]\ntype = "poisson"\nf = "pi**2*sin(pi*x)"\n[domain]\ntype = "interval"\n'
        'bounds = [0.0, 1.0]\n[[boundary]]\ntype = "dirichlet"\nvalue = "0"\n[exact]\nu = "sin(pi*x)"\n')
    pinn = ('[[case]]\nproblem = "../problems/p.toml"\nsolver = "pinn"\nsuites = ["quick"]\n'
            'set = ["solver.pinn.hidden=[8]", "solver.pinn.adam_steps={}", "solver.pinn.lbfgs_steps=0",'
            ' "solver.pinn.n_interior=16", "solver.pinn.n_boundary=2"]\n\n')
    suite.write_text('[[case]]\nproblem = "../problems/p.toml"\nsolver = "reference"\nsuites = ["quick"]\n\n'
                     + "".join(pinn.format(n) for n in pinn_steps))
    return suite


def test_validating_one_solver_keeps_the_other_solvers_rows(tmp_path):
    suite = _tiny_suite(tmp_path, 5)
    out = tmp_path / "report"
    run_suite(suite, "quick", None, out, quiet=True)
    run_suite(suite, "quick", ["pinn"], out, quiet=True)
    report = (out / "REPORT.md").read_text()
    assert "| p | reference |" in report and "| p | pinn |" in report
    assert report.index("| p | reference |") < report.index("| p | pinn |")


def test_the_report_is_rewritten_with_new_notes_without_running_a_case(tmp_path):
    suite = _tiny_suite(tmp_path, 5)
    out = tmp_path / "report"
    with pytest.raises(ProblemError, match="run `sciml validate` first"):
        rewrite_report(suite, out)
    run_suite(suite, "quick", None, out, quiet=True, figures=False)
    before = json.loads((out / "results.json").read_text())
    suite.write_text(suite.read_text().replace('solver = "pinn"\n', 'solver = "pinn"\nnote = "too few steps"\n'))
    assert rewrite_report(suite, out) == 0
    after = json.loads((out / "results.json").read_text())
    assert [r["rel_l2"] for r in after["results"]] == [r["rel_l2"] for r in before["results"]]
    assert after["meta"]["date"] == before["meta"]["date"]
    assert "; too few steps |" in (out / "REPORT.md").read_text()
    (out / "results.json").write_text("[1, 2]")
    with pytest.raises(ProblemError, match="not a results file"):
        rewrite_report(suite, out)


def test_cases_run_two_at_a_time_give_the_same_rows(tmp_path):
    suite = _tiny_suite(tmp_path, 5, 9)
    run_suite(suite, "quick", None, tmp_path / "one", quiet=True, figures=False)
    run_suite(suite, "quick", None, tmp_path / "two", quiet=True, figures=False, jobs=2)
    one, two = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two"))
    assert [r["rel_l2"] for r in one["results"]] == [r["rel_l2"] for r in two["results"]]
    assert [r["overrides"] for r in two["results"]] == [r["overrides"] for r in one["results"]]  # suite order
    assert two["meta"]["jobs"] == 2 and "--jobs 2" in (tmp_path / "two" / "REPORT.md").read_text()
    with pytest.raises(ProblemError, match="jobs"):
        run_suite(suite, "quick", None, tmp_path / "three", quiet=True, jobs=0)
