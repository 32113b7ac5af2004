"""Trained networks saved with their solution: ``Solution.load`` and ``sciml eval`` evaluate the
network again (not the table) for pinn, pig, lpinn and insr; a network that no longer matches its
problem is refused; every training step is in ``metrics.jsonl``."""

import json

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.solution import Solution

POISSON_2D = """
name = "p2"
[pde]
type = "poisson"
f = "2*pi**2*sin(pi*x)*sin(pi*y)"
[domain]
type = "disk"
center = [0.0, 0.0]
radius = 1.0
[[boundary]]
where = "all"
type = "dirichlet"
value = "0"
"""
CASES = {
    "pinn": ("POISSON_2D", ["solver.pinn.adam_steps=30", "solver.pinn.lbfgs_steps=2", "solver.pinn.hidden=[8, 8]",
                            "solver.pinn.n_interior=64"]),
    "pig": ("POISSON_2D", ["solver.pig.adam_steps=20", "solver.pig.n_gaussians=16", "solver.pig.n_interior=64"]),
    "lpinn": ("convection-1d-beta1", ["solver.lpinn.adam_steps=20", "solver.lpinn.state_hidden=[8]",
                                      "solver.lpinn.char_hidden=[8]", "solver.lpinn.batch_size=64"]),
    "insr": ("advection-gaussian-1d", ["time.end=0.1", "solver.insr.dt=0.05", "solver.insr.ic_iters=20",
                                       "solver.insr.iters=5", "solver.insr.n_samples=100"]),
}


def _solve(tmp_path, solver):
    problem, sets = CASES[solver]
    if problem == "POISSON_2D":
        problem = str(tmp_path / "p2.toml")
        (tmp_path / "p2.toml").write_text(POISSON_2D)
    out = tmp_path / solver
    args = ["solve", problem, "--solver", solver, "--out", str(out), "--quiet", "--no-png"]
    for s in sets:
        args += ["--set", s]
    torch.manual_seed(0)
    assert main(args) == 0
    return out


@pytest.mark.parametrize("solver", sorted(CASES))
def test_saved_network_evaluates_again_anywhere(tmp_path, solver):
    out = _solve(tmp_path, solver)
    summary = json.loads((out / "summary.json").read_text())
    assert "network.pt" in summary["files"] and "metrics.jsonl" in summary["files"]
    table = Solution.load(out)
    assert table.evaluator is not None  # the network, not the interpolated table
    rng = np.random.default_rng(1)
    lo, hi = table.domain.bounds
    pts = lo + (hi - lo) * rng.random((40, table.dim))
    pts = pts[table.domain.contains(pts)]
    if table.transient:
        pts = np.column_stack([pts, rng.uniform(table.times[0], table.times[-1], len(pts))])
    np.save(tmp_path / "pts.npy", pts)
    assert main(["eval", str(out), "--points", str(tmp_path / "pts.npy"), "--quiet"]) == 0
    values = np.load(out / "values.npy")
    assert values.shape == (len(pts), len(table.fields)) and np.isfinite(values).all()
    assert np.array_equal(values, table.evaluator(pts))
    # between the stored nodes the network differs from linear interpolation of the table
    interpolated = Solution(table.problem, table.solver, table.fields, table.kind, table.points, table.values,
                            table.cells, table.axes, table.times)
    assert not np.allclose(values, interpolated(pts), rtol=0, atol=1e-9)


def test_every_step_is_in_the_metrics_file(tmp_path):
    out = _solve(tmp_path, "pinn")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(32))
    assert [r["phase"] for r in records] == ["adam"] * 30 + ["lbfgs"] * 2
    assert all({"loss", "lr", "t", "res"} <= set(r) for r in records)
    assert all(b["t"] >= a["t"] for a, b in zip(records, records[1:]))
    summary = json.loads((out / "summary.json").read_text())
    assert "history" not in summary["info"]["train"]


def test_a_network_that_does_not_match_its_problem_is_refused(tmp_path, capsys):
    out = _solve(tmp_path, "pinn")
    payload = torch.load(out / "network.pt", weights_only=False)
    payload["state"] = {k: v + 0.1 for k, v in payload["state"].items()}
    torch.save(payload, out / "network.pt")
    np.save(tmp_path / "pts.npy", np.zeros((1, 2)))
    assert main(["eval", str(out), "--points", str(tmp_path / "pts.npy")]) == 2
    assert "does not reproduce the stored solution" in capsys.readouterr().err
    (out / "network.pt").write_bytes(b"garbage")
    assert main(["eval", str(out), "--points", str(tmp_path / "pts.npy")]) == 2


def test_eval_refuses_bad_input(tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--points", "x.npy"]) == 2
    assert "no solution.h5" in capsys.readouterr().err
    out = tmp_path / "ref"
    assert main(["solve", "poisson-square", "--set", "reference.h=0.2", "--out", str(out), "--quiet", "--no-png"]) == 0
    np.save(tmp_path / "pts.npy", np.zeros((3, 3)))
    assert main(["eval", str(out), "--points", str(tmp_path / "pts.npy")]) == 2
    assert "shape (n, 2)" in capsys.readouterr().err
    np.save(tmp_path / "pts.npy", np.array([[0.5, 0.5], [3.0, 3.0]]))
    assert main(["eval", str(out), "--points", str(tmp_path / "pts.npy"), "--quiet"]) == 0
    values = np.load(out / "values.npy")
    assert np.isfinite(values[0]).all() and np.isnan(values[1]).all()
    assert "outside the domain" in capsys.readouterr().err


def test_tensorboard_logging_or_a_clear_refusal(tmp_path, capsys):
    import importlib.util

    (tmp_path / "p2.toml").write_text(POISSON_2D)
    args = ["solve", str(tmp_path / "p2.toml"), "--solver", "pinn", "--out", str(tmp_path / "o"), "--quiet",
            "--no-png", "--log", "tensorboard", "--set", "solver.pinn.adam_steps=3", "--set", "solver.pinn.lbfgs_steps=0"]
    if importlib.util.find_spec("tensorboard") is None:
        assert main(args) == 2
        assert "pip install 'sciml-suite[tensorboard]'" in capsys.readouterr().err
    else:
        assert main(args) == 0
        assert list((tmp_path / "o" / "tensorboard").glob("events.out.tfevents.*"))
    assert main(["solve", "poisson-square", "--out", str(tmp_path / "r"), "--log", "tensorboard"]) == 2
    assert "does not train" in capsys.readouterr().err
