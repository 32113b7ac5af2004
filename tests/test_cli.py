"""The CLI contract: outputs, exit codes and one clear line for bad input."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import POISSON
from sciml.cli import main
from sciml.problems import load_problem
from sciml.runner import run
from sciml.solution import Solution


def test_solve_writes_outputs(write_problem, tmp_path, capsys):
    path = write_problem(POISSON)
    pts = np.array([[0.5, 0.5], [0.25, 0.75]])
    np.save(tmp_path / "pts.npy", pts)
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out), "--points", str(tmp_path / "pts.npy")]) == 0
    assert {p.name for p in out.iterdir()} == {"solution.h5", "solution.vtu", "solution.png",
                                              "values.npy", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compared_to"] == "exact" and summary["rel_l2"] < 1e-2
    assert {"problem", "solver", "wall_s", "n_params", "rel_l2", "max_abs_err"} <= set(summary)
    values = np.load(out / "values.npy")
    np.testing.assert_allclose(values[:, 0], np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1]), atol=2e-3)
    back = Solution.load(out)
    np.testing.assert_allclose(back(pts), values)
    assert "rel L2" in capsys.readouterr().out


def test_set_overrides(write_problem, tmp_path):
    path = write_problem(POISSON)
    p = load_problem(path, ["reference.h=0.25", "name=renamed", "boundary.0.value=0"])
    assert p.name == "renamed" and p.reference["h"] == 0.25
    _, coarse = run(p)
    _, fine = run(load_problem(path, ["reference.h=0.05"]))
    assert fine["rel_l2"] < coarse["rel_l2"] / 10


def _bad(write_problem, tmp_path, text, *extra, name="p.toml"):
    path = write_problem(text, name)
    out = tmp_path / "out"
    code = main(["solve", str(path), "--out", str(out), *extra])
    return code, out


BAD_CASES = {
    "malformed toml": (POISSON + "\n[[boundary\n", "malformed TOML"),
    "unknown top key": ("colour = 1\n" + POISSON, "[colour]: unknown key"),
    "unknown pde key": (POISSON.replace('type = "poisson"', 'type = "poisson"\nkk = "1"'), "[pde.kk]: unknown key"),
    "unknown pde type": (POISSON.replace('type = "poisson"', 'type = "navier"'), "[pde.type]: unknown value 'navier'"),
    "import": (POISSON.replace('f = "2*pi', 'f = "__import__(\'os\') + 2*pi'), "[pde.f]"),
    "attribute": (POISSON.replace('f = "2*pi', 'f = "x.real + 2*pi'), "attribute access"),
    "lambda": (POISSON.replace('f = "2*pi', 'f = "(lambda: 1) + 2*pi'), "lambda"),
    "subscript": (POISSON.replace('f = "2*pi', 'f = "x[0] + 2*pi'), "subscripts"),
    "z in 2d": (POISSON.replace('f = "2*pi', 'f = "z + 2*pi'), "unknown name 'z'"),
    "missing mesh": (POISSON.replace('type = "box"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]',
                                     'type = "mesh"\nfile = "nowhere.msh"'), "mesh file not found"),
    "missing tag": (POISSON.replace('where = "all"', 'where = "inlet"'), "no boundary tag 'inlet'"),
    "wrong type": (POISSON.replace("lo = [0.0, 0.0]", 'lo = "zero"'), "expected a list of finite numbers"),
    "missing key": (POISSON.replace('[pde]\ntype = "poisson"\n', "[pde]\n"), "[pde.type]: missing required key"),
    "steady with time": ("[time]\nend = 1.0\n" + POISSON, "is steady"),
    "bad reference option": ("[reference]\nhh = 0.1\n" + POISSON, "[reference.hh]: unknown option"),
}


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_bad_input_exit_2_with_one_clear_line(case, write_problem, tmp_path, capsys):
    text, message = BAD_CASES[case]
    code, out = _bad(write_problem, tmp_path, text)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert "p.toml" in err and message in err
    assert not out.exists()


def test_unknown_and_unsupported_solver(write_problem, tmp_path, capsys):
    code, out = _bad(write_problem, tmp_path, POISSON, "--solver", "nope")
    assert code == 2 and "unknown solver 'nope'" in capsys.readouterr().err and not out.exists()

    @dataclasses.dataclass
    class NarrowConfig:
        rtol: float = 1e-6

    class Narrow:
        name, supports, description = "narrow", frozenset({"burgers"}), "test"
        config_class = NarrowConfig

        def __init__(self, **kw):
            pass

    from sciml.solvers import registry
    registry._REGISTRY["narrow"] = Narrow
    try:
        code, out = _bad(write_problem, tmp_path, POISSON, "--solver", "narrow")
    finally:
        del registry._REGISTRY["narrow"]
    err = capsys.readouterr().err
    assert code == 2 and "does not support 'poisson'" in err and "[pde.type]" in err and not out.exists()


def test_bad_points_file(write_problem, tmp_path, capsys):
    np.save(tmp_path / "pts.npy", np.zeros((3, 5)))
    code, out = _bad(write_problem, tmp_path, POISSON, "--points", str(tmp_path / "pts.npy"))
    assert code == 2 and "shape (n, 2)" in capsys.readouterr().err and not out.exists()


def test_singular_system_is_a_solver_failure(write_problem, tmp_path, capsys):
    text = POISSON.replace('type = "dirichlet"', 'type = "neumann"')
    code, out = _bad(write_problem, tmp_path, text)
    assert code == 1 and "singular" in capsys.readouterr().err and not out.exists()


def test_list_and_module_entry_point(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "reference" in text and "poisson-lshape.toml" in text and "INVALID" not in text
    proc = subprocess.run([sys.executable, "-m", "sciml", "solve", "missing.toml"], capture_output=True, text=True)
    assert proc.returncode == 2 and "problem file not found" in proc.stderr


def test_every_option_of_every_command_has_help(capsys):
    import argparse

    from sciml.cli import build_parser

    missing = []

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "sciml")
    assert not missing
    assert main(["--version"]) == 0
    from sciml import __version__

    assert capsys.readouterr().out.strip() == f"sciml {__version__}"
