"""Benchmark plumbing: the error curve's clock, the generated page, and the peer adapter's
refusals (which need no DeepXDE)."""

import json
import time

import numpy as np
import pytest

from sciml.bench import run_benchmark
from sciml.bench.curves import Curve, Entry, write_outputs
from sciml.bench.peers import deepxde_pinn
from sciml.bench.side_by_side import ratios
from sciml.errors import ProblemError
from sciml.problems import load_problem


def test_curve_excludes_scoring_time():
    def slow_score(values):
        time.sleep(0.05)
        return float(np.abs(values).mean())

    curve = Curve(every_s=0.0, score=slow_score, points=np.zeros((3, 1)))
    for _ in range(4):
        curve.tick(lambda p: np.ones((len(p), 1)))
    assert len(curve.samples) == 4 and curve.elapsed() < 0.05
    assert [e for _, e in curve.samples] == [1.0] * 4


def test_outputs_page_json_and_plot(tmp_path):
    entries = [Entry("a", 10, 1.0, 1e-3, 5, "x", [(0.1, 1.0), (1.0, 1e-3)]),
               Entry("b", 20, 1.0, 1e-1, 5, "y", [(0.1, 1.0), (1.0, 1e-1)])]
    files = write_outputs(tmp_path, "demo", "Demo", entries, "text", {"budget_s": 1})
    assert [f.name for f in files] == ["demo.md", "demo.json", "demo.png"]
    page = (tmp_path / "demo.md").read_text()
    assert "| a | 10 | 1.0 | 5 | 1.000e-03 | x |" in page and "torch thread" in page
    assert json.loads((tmp_path / "demo.json").read_text())["entries"][1]["rel_l2"] == 0.1


def test_peer_ratios_at_equal_time_and_equal_error():
    ours = Entry("ours", 1, 10.0, 1e-3, 5, "", [(1.0, 1e-1), (4.0, 1e-2), (10.0, 1e-3)])
    peer = Entry("peer", 1, 5.0, 2e-2, 5, "", [(1.0, 1e-1), (5.0, 2e-2)])
    r = ratios(ours, peer)
    assert r["error_ratio_equal_time"] == pytest.approx(1e-2 / 2e-2)  # best of each by t = 5 s
    assert r["time_ratio_equal_error"] == pytest.approx(4.0 / 5.0)  # ours reached 2e-2 at 4 s
    assert r["error_ratio_equal_steps"] == pytest.approx(1e-3 / 2e-2) and r["time_ratio_equal_steps"] == 2.0
    slow = Entry("slow", 1, 10.0, 5e-2, 7, "", [(5.0, 8e-2), (10.0, 5e-2)])
    assert ratios(slow, peer)["time_ratio_equal_error"] is None and "error_ratio_equal_steps" not in ratios(slow, peer)
    instant = Entry("instant", 1, 0.5, 0.5, 0, "", [(0.5, 0.5)])
    assert ratios(instant, peer)["error_ratio_equal_time"] is None  # the peer had nothing yet at 0.5 s
    blown = Entry("blown", 0, 5.0, float("nan"), 0, "diverged", [(1.0, 5e-2), (5.0, float("nan"))])
    assert ratios(blown, peer) == {"error_ratio_equal_time": None, "time_ratio_equal_error": None, "diverged": True}


@pytest.mark.parametrize("name", ["heat-1d", "poisson-disk", "poisson-varcoef"])
def test_deepxde_adapter_refuses_what_it_cannot_translate(root, name):
    problem = load_problem(root / "problems" / f"{name}.toml")
    with pytest.raises(ProblemError, match="DeepXDE adapter"):
        deepxde_pinn(problem, 1.0, Curve(1.0, lambda v: 0.0, np.zeros((1, 2))))


def test_deepxde_adapter_trains_on_burgers(root):
    pytest.importorskip("deepxde")
    problem = load_problem(root / "problems" / "burgers.toml")
    points = problem.evaluation_points(n_space=21, n_time=5)
    curve = Curve(0.5, lambda values: float(np.abs(values).mean()), points)  # any score: it is only recorded
    entry = deepxde_pinn(problem, 2.0, curve, hidden=(8, 8), adam_steps=20, n_domain=64, n_boundary=16)
    assert entry.solver == "deepxde-pinn" and 0 < entry.steps <= 20 + 1000 and np.isfinite(entry.rel_l2)
    assert entry.n_params == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1


def test_deepxde_adapter_refuses_another_burgers_flux(root):
    bad = load_problem(root / "problems" / "burgers.toml", ["pde.flux=u**2"])
    with pytest.raises(ProblemError, match="flux"):
        deepxde_pinn(bad, 1.0, Curve(1.0, lambda v: 0.0, np.zeros((1, 2))))


def test_linear_benchmark_runs_its_protocol_on_small_grids(tmp_path, monkeypatch):
    from sciml.bench import linear

    monkeypatch.setattr(linear, "SIZES", {2: (16, 32), 3: (16,)})
    monkeypatch.setattr(linear, "SMOKE_N", 16)
    monkeypatch.setattr(linear, "SMOKE_STEPS", 2)
    model = str(linear.DEFAULT_MODEL[2])  # given as a file: the page names it
    assert linear.run(tmp_path, None, quiet=True, model_file=model) == 0
    data = json.loads((tmp_path / "linear.json").read_text())
    rows = data["rows"]
    assert all(r["converged"] for r in rows if not r["method"].startswith("DCDM"))
    cg_its = {(r["dim"], r["n"], r["system"]): r["iterations"] for r in rows if r["method"] == "CG"}
    f32_its = {(r["dim"], r["n"], r["system"]): r["iterations"] for r in rows if r["method"] == "DCDM"}
    for r in rows:  # DCDM converges, or is stopped at CG's count (bfloat16: or twice float32's) on the same system
        key = (r["dim"], r["n"], r["system"])
        if r["method"] == "DCDM" and not r["converged"]:
            assert r["iterations"] == cg_its[key]
        if r["method"] == "DCDM bf16" and not r["converged"]:
            assert r["iterations"] == min(cg_its[key], 2 * f32_its[key])
    methods = {(r["dim"], r["method"]) for r in rows}
    assert {(2, "DCDM"), (2, "DCDM bf16"), (3, "CG"), (3, "IC(0)-PCG"), (3, "pyamg SA-CG")} <= methods
    assert all(r["ms_per_iteration"] > 0 for r in rows if r["iterations"])
    assert [(c["dim"], c["n"]) for c in data["network_calls_ms"]][:2] == [(2, 16), (2, 32)]
    assert {r["solver"] for r in data["smoke_loop"]} == {"direct", "cg", "ic0", "amg", "dcdm"}
    page = (tmp_path / "linear.md").read_text()
    assert "IC(0) ran numba" in page or "IC(0) ran superlu" in page
    assert f"The 2D model {model}:" in page
    with pytest.raises(ProblemError, match="takes one option, --set model=FILE"):
        run_benchmark("linear", tmp_path, None, options={"levels": "2"})
