"""The error contract of the CLI, one case per kind of fault (issue [hardening]).

Bad input: exit code 2 and one line naming the file or option; a failure: exit code 1 and one
line; never a traceback; no new file left behind; summary.json is strict JSON. Every case runs
``sciml`` in this process through :func:`sciml.cli.main`.
"""

import errno
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import POISSON
from sciml import solvers
from sciml.cli import main
from sciml.errors import OutsideDomainWarning
from sciml.problems import load_problem

BURGERS = '''
[pde]
type = "burgers"
nu = "0.01"
[domain]
type = "interval"
bounds = [-1.0, 1.0]
[time]
end = 0.5
[initial]
u = "-sin(pi*x)"
[[boundary]]
type = "dirichlet"
'''
ODE_BLOWUP = '''
[pde]
type = "ode"
variables = ["y"]
rhs = ["y**2"]
[time]
end = 2.0
[initial]
y = "1"
'''
BOX = 'type = "box"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]'
TINY_PINN = ["--set", "solver.pinn.adam_steps=3", "--set", "solver.pinn.lbfgs_steps=0"]
INVERSE = POISSON.replace('name = "t"', 'name = "t"\n[parameters]\ns = 1.0') + \
    '\n[inverse]\nunknowns = { s = 0.5 }\n[inverse.observations]\nsynthetic = 5\n'


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def _run(tmp_path, capsys, text, *args, out="out"):
    """Write the problem, run ``sciml solve`` and return (exit code, stderr, new files)."""
    path = tmp_path / "p.toml"
    path.write_text(text)
    before = _files(tmp_path)
    argv = ["solve", str(path), "--out", str(tmp_path / out), "--quiet", *args]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err, _files(tmp_path) - before


def _one_line(err: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err


# (problem text, extra arguments, exit code, words the one line must hold)
CASES = {
    # 1. non-finite values found when the file loads
    "overflowing source": (POISSON.replace('f = "', 'f = "exp(1e6*x) + '), (), 2, "[pde.f]: evaluates to inf"),
    "literal beyond float range": (POISSON.replace('f = "', 'f = "1e400 + '), (), 2, "beyond the float range"),
    "root of a negative number": (POISSON.replace('f = "', 'f = "sqrt(x - 2) + '), (), 2, "not a real number"),
    "cube root of a negative constant": (POISSON.replace('f = "', 'f = "(-8)**(1/3) + '), (), 2, "not a real number"),
    "non-finite boundary data": (POISSON.replace('value = "0"', 'value = "log(x)"'), (), 2, "[boundary.0.value]"),
    "non-finite exact solution": (POISSON.replace('u = "sin', 'u = "1/(x - 0.5) + sin'), (), 2, "[exact.u]"),
    "parameter nan": ("[parameters]\na = nan\n" + POISSON, (), 2, "[parameters.a]: expected a finite number"),
    "box corner inf": (POISSON.replace("hi = [1.0, 1.0]", "hi = [1.0, inf]"), (), 2, "[domain.hi]"),
    # 2. expressions that used to crash one backend
    "negated comparison, neural solver": (POISSON.replace('f = "', 'f = "-(x < 0.5) + '), TINY_PINN + ["--solver", "pinn"], 0, ""),
    "where with a float condition, neural solver": (POISSON.replace('f = "', 'f = "where(x - 0.5, 1, 0) + '),
                                                   TINY_PINN + ["--solver", "pinn"], 0, ""),
    # 5. physical values
    "negative viscosity": (BURGERS.replace('nu = "0.01"', 'nu = "-0.01"'), (), 2, "[pde.nu]: burgers viscosity must be positive"),
    "zero diffusivity": (POISSON.replace('type = "poisson"', 'type = "poisson"\nk = "0"'), (), 2, "[pde.k]: k must be positive"),
    "sign-changing diffusivity": (POISSON.replace('type = "poisson"', 'type = "poisson"\nk = "x - 0.5"'), (), 2, "ill-posed"),
    # 6. remaining tracebacks
    "negative seed": (POISSON, ("--seed", "-1"), 2, "--seed"),
    "nan learning rate": (POISSON, ("--solver", "pinn", "--set", "solver.pinn.lr=nan"), 2, "[solver.pinn.lr]"),
    "zero learning rate": (POISSON, ("--solver", "pinn", "--set", "solver.pinn.lr=0"), 2, "must be above 0"),
    "negative steps": (POISSON, ("--solver", "pinn", "--set", "solver.pinn.adam_steps=-5"), 2, "must be at least 0"),
    "zero fading time": (POISSON, ("--solver", "pig", "--set", "solver.pig.ic_fade=0"), 2, "ic_fade must lie in (0, 10]"),
    "unknown initial form": (POISSON, ("--solver", "pinn", "--set", "solver.pinn.ic_form=mul"), 2, "[solver.pinn.ic_form]"),
    "refinement drawing nothing": (POISSON, ("--solver", "pinn", "--set", "solver.pinn.rar_k=0", "--set", "solver.pinn.rar_c=0"),
                                   2, "rar_k and rar_c"),
    # 7. input that would be ignored
    "inverse section to hypino": (INVERSE, ("--solver", "hypino"), 2,
                                  "does not read [inverse] (solvers that do: ggn, lpinn, pig, pinn)"),
    "cuda to the reference": (POISSON, ("--device", "cuda"), 2, "--device cuda"),
    "cuda to hypino": (POISSON, ("--solver", "hypino", "--device", "cuda"), 2, "--device cuda"),
    # geometry and boundaries that would hang, crash or be ignored
    "polygon with a repeated vertex": (POISSON.replace(BOX, 'type = "polygon"\nvertices = [[0,0],[1,0],[1,0],[0,1]]'),
                                       (), 2, "[domain]: polygon vertices 1 and 2 coincide"),
    "self-crossing polygon": (POISSON.replace(BOX, 'type = "polygon"\nvertices = [[0,0],[2,0],[2,2],[1,0],[0,2]]'),
                              (), 2, "cross"),
    "unreadable mesh": (POISSON.replace(BOX, 'type = "mesh"\nfile = "p.toml"'), (), 2, "[domain.file]: cannot read mesh"),
    "condition covering nothing": (POISSON.replace('where = "all"', 'where = "x > 2"'), (), 2,
                                   "[boundary.0.where]: 'x > 2' covers none"),
    "condition shadowed by an earlier one": (POISSON + '[[boundary]]\nwhere = "left"\ntype = "neumann"\n', (), 2,
                                             "[boundary.1.where]: never applies"),
    "unknown solver section": (POISSON + "[solver.pgi]\nadam_steps = 5\n", (), 2, "[solver.pgi]: no solver named"),
    # sizes that would exhaust memory or never finish
    "mesh size far too small": (POISSON, ("--set", "reference.h=1e-7"), 2, "[reference.h]"),
    "zero time steps": (BURGERS, ("--set", "reference.nt=0"), 2, "[reference.nt]"),
    "one snapshot": (BURGERS, ("--set", "reference.snapshots=1"), 2, "[reference.snapshots]"),
    "time step far too small": (BURGERS, ("--solver", "insr", "--set", "solver.insr.dt=1e-9"), 2, "[solver.insr.dt]"),
    # no hang, no silent NaN: a solution that blows up is a failure
    "ode blow-up": (ODE_BLOWUP, (), 1, "error:"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_contract_table(case, tmp_path, capsys):
    text, args, code, words = CASES[case]
    if case == "cuda to hypino" and __import__("torch").cuda.is_available():
        pytest.skip("hypino runs on the GPU here")
    got, err, new = _run(tmp_path, capsys, text, *args)
    assert got == code, err
    if code:
        _one_line(err)
        assert words in err and err.startswith("error: ")
        assert not new, new
        if code == 2 and words.startswith("["):
            assert "p.toml" in err
    else:
        summary = json.loads((tmp_path / "out" / "summary.json").read_text(), parse_constant=_refuse)
        assert summary["rel_l2"] is not None


def _refuse(token):
    raise ValueError(f"summary.json holds {token}")


@pytest.mark.parametrize("content, words", [
    (np.array([[0.5, np.nan]]), "hold NaN or infinity"),
    (b"PK\x03\x04 not a zip", "cannot read a .npy array"),
    (np.array([["a", "b"]]), "expected real numbers"),
    (np.array([[0.5, 0.5, 0.5]]), "shape (n, 2)"),
    (np.array([[1 + 2j, 0.5]]), "expected real numbers"),
])
def test_bad_points_are_refused_before_any_work(content, words, tmp_path, capsys):
    if isinstance(content, bytes):
        (tmp_path / "pts.npy").write_bytes(content)
    else:
        np.save(tmp_path / "pts.npy", content)
    code, err, new = _run(tmp_path, capsys, POISSON, "--points", str(tmp_path / "pts.npy"))
    assert code == 2 and words in err and "pts.npy" in err
    _one_line(err)
    assert not new


def test_points_outside_the_domain_are_nan_counted_and_warned(tmp_path, capsys):
    lshape = POISSON.replace('type = "box"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]',
                             'type = "polygon"\nvertices = [[0,0],[1,0],[1,0.5],[0.5,0.5],[0.5,1],[0,1]]')
    np.save(tmp_path / "pts.npy", np.array([[0.25, 0.25], [0.75, 0.75], [2.0, 0.1]]))
    code, err, _ = _run(tmp_path, capsys, lshape, "--points", str(tmp_path / "pts.npy"))
    assert code == 0
    assert err.splitlines() == [err] and err.startswith("warning: 2 of 3 points") and "NaN" in err
    values = np.load(tmp_path / "out" / "values.npy")
    assert np.isfinite(values[0]).all() and np.isnan(values[1:]).all()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(), parse_constant=_refuse)
    assert summary["points_outside"] == 2 and any("outside" in w for w in summary["warnings"])


def test_solution_call_gives_nan_outside_with_one_warning(tmp_path):
    (tmp_path / "p.toml").write_text(POISSON.replace("[exact]", "[time]\nend = 1.0\n[initial]\nu = \"0\"\n[exact]")
                                     .replace('type = "poisson"', 'type = "convection_diffusion"\nb = ["0", "0"]')
                                     .replace("[exact]\nu = \"sin(pi*x)*sin(pi*y)\"", ""))
    problem = load_problem(tmp_path / "p.toml", ["reference.nt=20", "reference.h=0.2"])
    sol = solvers.get("reference").solve(problem)
    with pytest.warns(OutsideDomainWarning, match="2 of 4 points"):
        got = sol([[0.5, 0.5, 0.5], [0.5, 0.5, 1.5], [1.5, 0.5, 0.5], [0.2, 0.2, 1.0]])
    assert np.isnan(got[1:3]).all() and np.isfinite(got[[0, 3]]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol([[0.5, 0.5, 0.5]])  # all inside: no warning


@pytest.mark.parametrize("target, words", [("file", "names an existing file"), ("under-file", "is a file"),
                                           ("proc", "cannot be written")])
def test_out_is_checked_before_any_work(target, words, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    out = {"file": tmp_path / "f", "under-file": tmp_path / "f" / "sub", "proc": Path("/proc/sciml-out")}[target]
    if target == "proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc")
    path = tmp_path / "p.toml"
    path.write_text(POISSON)
    code = main(["solve", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and words in err
    _one_line(err)


def test_a_full_disk_leaves_no_new_file(tmp_path, capsys, monkeypatch):
    def full(sol, directory):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("sciml.solution.write_vtk", full)
    code, err, new = _run(tmp_path, capsys, POISSON, out="deep/er/out")
    assert code == 1 and "No space left on device" in err
    _one_line(err)
    assert not new, new


@pytest.mark.parametrize("content", [b"", b"this is not a model\n", b"PK\x03\x04garbage"])
def test_unreadable_model_and_checkpoint_files_are_bad_input(content, tmp_path, capsys):
    model = tmp_path / "m.pt"
    model.write_bytes(content)
    family = Path(__file__).resolve().parent.parent / "problems" / "families" / "antiderivative.toml"
    code = main(["solve", str(family), "--solver", "deeponet", "--model", str(model), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "m.pt" in err and "model file" in err
    _one_line(err)
    out = tmp_path / "o2"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(content)
    code, err, _ = _run(tmp_path, capsys, POISSON, "--solver", "pinn", "--resume", out="o2")
    assert code == 2 and "checkpoint" in err
    _one_line(err)


def test_a_non_finite_solution_is_a_failure_with_no_files(tmp_path, capsys, monkeypatch):
    from sciml.solvers.reference import ReferenceSolver
    from sciml.solvers.registry import checked_solve

    def nan_solve(self, problem):
        from sciml.reference import solve_reference

        sol = solve_reference(problem)
        sol.values[3] = np.nan
        return sol

    monkeypatch.setattr(ReferenceSolver, "solve", checked_solve(nan_solve))
    code, err, new = _run(tmp_path, capsys, POISSON)
    assert code == 1 and "non-finite" in err
    _one_line(err)
    assert not new


def test_an_unexpected_exception_is_one_line_unless_debug(tmp_path, capsys, monkeypatch):
    from sciml.solvers.reference import ReferenceSolver

    monkeypatch.setattr(ReferenceSolver, "solve", lambda self, problem: 1 / 0)
    code, err, new = _run(tmp_path, capsys, POISSON)
    assert code == 1 and err.startswith("internal error: ZeroDivisionError") and "--debug" in err
    _one_line(err)
    assert not new
    code, err, _ = _run(tmp_path, capsys, POISSON, "--debug")
    assert code == 1 and "Traceback" in err


@pytest.mark.parametrize("argv, words", [
    (["data", "generate", "FAMILY", "--n", "2", "--out", "d.h5", "--workers", "0"], "--workers"),
    (["data", "generate", "FAMILY", "--n", "2", "--out", "d.h5", "--workers", "-3"], "--workers"),
    (["data", "generate", "FAMILY", "--n", "0", "--out", "d.h5"], "--n"),
    (["simulate", "smoke", "--steps", "0"], "--steps"),
    (["benchmark", "pig", "--budget", "nan"], "--budget"),
    (["list", "--problems", "/nonexistent-folder"], "--problems"),
])
def test_bad_options_are_one_line_exit_2(argv, words, tmp_path, capsys):
    family = Path(__file__).resolve().parent.parent / "problems" / "families" / "antiderivative.toml"
    argv = [str(family) if a == "FAMILY" else a for a in argv]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and words in err
    _one_line(err)


@pytest.mark.parametrize("change, key", [
    (("n_grid = 128", "n_grid = 100000000"), "[family.inputs.a.n_grid]"),
    (("sensors = 64", "sensors = 100000"), "[family.inputs.a.sensors]"),
    (("points = 64", "points = 100000"), "[family.output.points]"),
    (("[family.inputs.a]", "[family]\nseed = -1\n[family.inputs.a]"), "[family.seed]"),
    (("alpha = 2.0", "alpha = nan"), "[family.inputs.a.alpha]"),
    (("kind = \"grf2d\"", "kind = \"grf2d\"\ndegree = 3"), "unknown key 'degree'"),
])
def test_bad_family_files_are_one_line_exit_2(change, key, tmp_path, capsys):
    family = Path(__file__).resolve().parent.parent / "problems" / "families" / "darcy-pwc.toml"
    path = tmp_path / "f.toml"
    path.write_text(family.read_text().replace(*change))
    code = main(["data", "generate", str(path), "--n", "2", "--out", str(tmp_path / "d.h5"), "--workers", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and key in err and "f.toml" in err
    _one_line(err)
    assert not (tmp_path / "d.h5").exists()


def test_data_generate_creates_parent_folders(tmp_path, capsys):
    family = Path(__file__).resolve().parent.parent / "problems" / "families" / "antiderivative.toml"
    out = tmp_path / "new" / "deeper" / "d.h5"
    assert main(["data", "generate", str(family), "--n", "2", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert out.is_file()


def test_every_option_has_help_and_version_prints(capsys):
    import argparse

    from sciml.cli import build_parser

    def parsers(p):
        yield p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    missing = [f"{p.prog} {a.option_strings or a.dest}" for p in parsers(build_parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    assert not missing, missing
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("sciml ")


def test_the_deep_cg_solver_is_a_function_of_sciml_linalg():
    from sciml.linalg import dcdm

    assert callable(dcdm) and dcdm.__name__ == "dcdm"
