"""The vanilla PINN: options, bad input, a short solve, and the CLI's training path."""

import json

import pytest

from sciml.cli import main
from sciml.errors import ProblemError
from sciml.problems import problem_from_dict
from sciml.runner import run

POISSON_1D = {
    "name": "p1", "pde": {"type": "poisson", "f": "pi**2*sin(pi*x)"},
    "domain": {"type": "interval", "bounds": [0.0, 1.0]},
    "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}],
    "exact": {"u": "sin(pi*x)"},
}
FAST = {"hidden": [20, 20], "adam_steps": 300, "lr": 1e-2, "lbfgs_steps": 20, "n_interior": 64,
        "n_boundary": 8, "progress": False}


def test_short_pinn_solve_is_accurate():
    _, summary = run(problem_from_dict(POISSON_1D), "pinn", FAST)
    assert summary["rel_l2"] < 1e-2, summary["rel_l2"]
    assert summary["n_params"] == 1 * 20 + 20 + 20 * 20 + 20 + 20 + 1
    assert summary["info"]["train"]["lbfgs_steps"] == 20


def test_ode_pinn_learns_the_oscillator(root):
    from sciml.problems import load_problem

    problem = load_problem(root / "problems" / "oscillator.toml", ["time.end=2.0"])
    _, summary = run(problem, "pinn", {**FAST, "adam_steps": 500, "w_ic": 10.0})
    assert summary["rel_l2"] < 5e-2, summary["rel_l2"]


@pytest.mark.parametrize("options, match", [
    ({"hidden": [20, 0]}, "positive widths"),
    ({"hidden": "wide"}, "expected list"),
    ({"activation": "softmax"}, "expected 'tanh'"),
    ({"layers": 3}, "unknown option"),
    ({"resume": True}, "resume needs a checkpoint"),
])
def test_bad_options_are_rejected(options, match):
    with pytest.raises(ProblemError, match=match):
        run(problem_from_dict(POISSON_1D), "pinn", {**FAST, **options})


TOML = """
name = "p1"
[pde]
type = "poisson"
f = "{f}"
[domain]
type = "interval"
bounds = [0.0, 1.0]
[[boundary]]
type = "dirichlet"
value = "0"
[exact]
u = "sin(pi*x)"
[solver.pinn]
hidden = [10]
adam_steps = {steps}
lbfgs_steps = 0
n_interior = 32
n_boundary = 4
"""


def test_cli_writes_a_checkpoint_and_resumes(write_problem, tmp_path, capsys):
    out = tmp_path / "out"
    path = write_problem(TOML.format(f="pi**2*sin(pi*x)", steps=20))
    assert main(["solve", str(path), "--solver", "pinn", "--out", str(out), "--quiet"]) == 0
    assert (out / "checkpoint.pt").is_file()
    args = ["solve", str(path), "--solver", "pinn", "--out", str(out), "--quiet", "--resume",
            "--set", "solver.pinn.adam_steps=35"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["info"]["train"]["adam_steps"] == 35
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(35))  # every step once: the first run's 20, then 15 more


def test_cli_resume_needs_a_training_solver(write_problem, tmp_path, capsys):
    path = write_problem(TOML.format(f="1", steps=1))
    assert main(["solve", str(path), "--out", str(tmp_path / "o"), "--resume"]) == 2
    assert "does not train" in capsys.readouterr().err


def test_cli_nan_in_training_exits_1_without_output(write_problem, tmp_path, capsys):
    out = tmp_path / "out"
    path = write_problem(TOML.format(f="1e39*sin(pi*x)", steps=20))  # finite in float64, inf in float32
    assert main(["solve", str(path), "--solver", "pinn", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "became NaN" in err and "res=inf" in err
    assert not (out / "solution.h5").exists() and not (out / "summary.json").exists()


def test_network_solutions_tabulate_on_grids_and_meshes(root, tmp_path):
    """Boxes give grid solutions, other domains a mesh; transient ones carry times; every kind
    evaluates the network itself and writes a VTU for ParaView."""
    from sciml.nn.fit import network_solution
    from sciml.problems import load_problem
    from sciml.solvers.pinn import PINNConfig, PINNNet

    for name, kind, transient in (("poisson-lshape", "mesh", False), ("heat-1d", "grid", True)):
        problem = load_problem(root / "problems" / f"{name}.toml")
        lo, hi = [-1.0] * problem.input_dim, [1.0] * problem.input_dim
        net = PINNNet(lo, hi, 1, PINNConfig(hidden=[4]))
        sol = network_solution(problem, net, "pinn", {})
        assert sol.kind == kind and sol.transient == transient
        pts = problem.evaluation_points()[:7]
        import torch

        with torch.no_grad():
            direct = net(torch.as_tensor(pts, dtype=torch.float32)).numpy()
        assert abs(sol(pts) - direct).max() < 1e-6
        files = sol.save(tmp_path / name, png=False)
        assert any(f.suffix == ".vtu" for f in files)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-CUDA message")
def test_cli_cuda_without_a_gpu_is_bad_input(write_problem, tmp_path, capsys):
    path = write_problem(TOML.format(f="1", steps=1))
    assert main(["solve", str(path), "--solver", "pinn", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_an_edge_with_no_condition_and_no_natural_one_adds_no_term():
    """A 2D operator whose top edge carries no condition (HyPINO's heat problem in (x, t)):
    nothing is required there; it once crashed the boundary terms (an empty list stacked)."""
    from sciml.problems import load_problem

    _, summary = run(load_problem("hypino-heat"), "pinn", {"adam_steps": 5, "lbfgs_steps": 0, "progress": False,
                                                           "hard_bc": False})
    assert set(summary["info"]["train"]["terms"]) == {"res", "bc"}
