"""DeepONet: the paper's parameter count, Cartesian-product and pointwise forms agree, the
stacked variant, a small model learns the antiderivative in seconds, the model file answers a
member and refuses another family, DDP gives the single-process gradient."""

from pathlib import Path

import pytest
import torch

from sciml.cli import main
from sciml.data.dataset import generate
from sciml.errors import ProblemError
from sciml.problems import load_problem
from sciml.problems.family import member
from sciml.solvers.deeponet import DeepONet, DeepONetConfig, DeepONetSolver, load_model, train

FAMILIES = Path(__file__).resolve().parents[2] / "problems" / "families"


def test_the_papers_network_has_7401_weights_and_both_layouts_agree():
    torch.manual_seed(0)
    net = DeepONet(100, 1, 1, DeepONetConfig())
    assert sum(p.numel() for p in net.parameters()) == 7401  # branch 5,680 + trunk 1,720 + b0
    u, y = torch.randn(4, 100), torch.rand(9, 1)
    aligned = net(u, y)
    pointwise = net(u, y.expand(4, 9, 1))
    assert aligned.shape == (4, 9, 1) and torch.allclose(aligned, pointwise, atol=1e-6)
    two = DeepONet(100, 1, 2, DeepONetConfig())  # two outputs: a group of p = 40 basis functions each
    assert two(u, y).shape == (4, 9, 2) and two.b0.shape == (2,)
    stacked = DeepONet(100, 1, 1, DeepONetConfig(stacked=True))
    assert stacked(u, y).shape == (4, 9, 1)
    assert sum(p.numel() for p in stacked.branch.parameters()) == 40 * (100 * 40 + 40 + 40 + 1)
    with pytest.raises(ProblemError, match="same width"):
        DeepONetConfig(branch=[40, 30])


@pytest.fixture(scope="module")
def antiderivative(tmp_path_factory):
    path = tmp_path_factory.mktemp("don") / "anti.h5"
    return generate(FAMILIES / "antiderivative.toml", 600, path, workers=1, progress=False)


def test_a_small_deeponet_learns_the_antiderivative(antiderivative, tmp_path):
    cfg = DeepONetConfig(n_train=500, adam_steps=1500, progress=False, seed=0)
    model, result, record = train(antiderivative, cfg, tmp_path / "m.pt")
    assert record["test"]["n"] == 100 and record["n_params"] == 7401
    assert record["test"]["mse"] < 2e-3, record["test"]  # outputs are O(0.3); the untrained net: ~1e-1
    assert result.history[-1]["loss"] < result.history[0]["loss"] / 20
    loaded, lcfg, state = load_model(tmp_path / "m.pt")
    u, y = torch.randn(3, 100), torch.rand(3, 1, 1)
    assert torch.equal(loaded(u, y), model(u, y))
    # the model answers a given member, and the answer is close to the reference
    out = tmp_path / "solve"
    assert main(["solve", str(FAMILIES / "antiderivative.toml"), "--solver", "deeponet", "--model",
                 str(tmp_path / "m.pt"), "--set", 'family.inputs.v.kind="expr"', "--set",
                 'family.inputs.v.value="cos(2*pi*t)"', "--out", str(out), "--no-png", "--quiet"]) == 0
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["compared_to"] == "reference" and summary["max_abs_err"] < 0.1
    # and refuses a member of another family, and a plain problem
    with pytest.raises(ProblemError, match="trained on the family 'antiderivative'"):
        DeepONetSolver(model=str(tmp_path / "m.pt")).solve(member(load_problem(FAMILIES / "pendulum.toml"), 0))
    with pytest.raises(ProblemError, match="not a member"):
        DeepONetSolver(model=str(tmp_path / "m.pt")).solve(load_problem(FAMILIES.parent / "heat-1d.toml"))
    with pytest.raises(ProblemError, match="--model"):
        DeepONetSolver().solve(member(load_problem(FAMILIES / "antiderivative.toml"), 0))


def test_train_command_from_a_family_file(tmp_path):
    out = tmp_path / "p.pt"
    assert main(["train", "deeponet", str(FAMILIES / "poisson-1d.toml"), "--n", "24", "--out", str(out),
                 "--set", "n_train=20", "--set", "adam_steps=30", "--set", "trunk=[20, 20]", "--set",
                 "branch=[20, 20]", "--quiet"]) == 0
    assert out.is_file() and (tmp_path / "p.data.h5").is_file() and (tmp_path / "p.ckpt.pt").is_file()
    _, cfg, state = load_model(out)
    assert cfg.adam_steps == 30 and state["meta"]["layout"] == "grid" and state["test"]["n"] == 4
    assert main(["train", "deeponet", str(FAMILIES.parent / "heat-1d.toml"), "--out", str(out)]) == 2


WORKER = Path(__file__).with_name("deeponet_ddp_worker.py")


def test_ddp_two_processes_match_the_single_process_gradient(ddp_matches_single_process):
    ddp_matches_single_process(WORKER)
