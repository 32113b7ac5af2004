"""``sciml benchmark mgno``: MgNO (He, Liu & Xu, ICLR 2024) on FNO-style Darcy flow, against
neuraloperator's FNO on the same data, the finite-difference reference and a finer grid.

* Data: ``problems/families/darcy-pwc.toml`` (coefficient 12 / 3 from a thresholded GRF,
  ``-div(a grad u) = 1``, u = 0), 1,000 training members (seed 0) and 200 test members (seed 1)
  at 64^2 by the FD reference; the same 200 test members again at 128^2.
* MgNO with the defaults (4 layers x 12 channels, 6 levels, batch 8, one-cycle 5e-4, 25 epochs),
  its test error after every epoch; the same with ``restrict = "residual"`` (the multigrid
  reading of the V-cycle) as an ablation.
* neuraloperator's ``FNO`` with the FNO paper's Darcy sizes (12 modes, width 32, 4 layers,
  domain padding 9 of 64 nodes), Adam 1e-3, weight decay 1e-4, batch 20, the relative L2 loss,
  for the same 25 epochs; errors at equal epochs and at MgNO's training time.
* Inference: MgNO on the 200 test inputs against the FD reference solving the same 200 members
  (assembly and sparse LU), one thread each.
* Resolution: the 64^2 model applied to the 128^2 inputs, against the 128^2 FD solutions, beside
  the gap between the 64^2 and 128^2 FD solutions themselves.

Each model trains on one thread; test evaluations are not counted as training time.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.dataset import generate
from ..problems import load_problem
from ..problems.family import member
from ..reference import solve_reference
from ..shipped import problems_folder
from ..solvers.mgno import MgNOConfig, as_images, evaluate, predict, train
from ..solvers.operator import error_metrics, load_split
from .curves import environment, save_page

FAMILY = problems_folder() / "families" / "darcy-pwc.toml"
N_TRAIN, N_TEST, EPOCHS = 1000, 200, 25
FINE = ["family.output.points=128", "family.inputs.a.sensors=128"]


@dataclass
class Run:
    method: str
    params: int
    epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)  # mean per-sample relative L2 after each epoch
    notes: str = ""

    def at_time(self, t: float) -> float:
        """The error of the last epoch finished within ``t`` seconds of training (inf if none)."""
        done = [e for s, e in zip(self.seconds, self.test) if s <= t * 1.0001]
        return done[-1] if done else math.inf


def _images(path: Path) -> tuple[np.ndarray, np.ndarray]:
    _, data, meta = load_split(path, 0)
    return as_images(data, meta)


def _mgno(name: str, train_path: Path, test_path: Path, quiet: bool, **options: Any) -> tuple[Run, Any]:
    cfg = MgNOConfig(epochs=EPOCHS, n_train=N_TRAIN, seed=0, progress=not quiet, **options)
    a, s = _images(test_path)
    steps = -(-N_TRAIN // cfg.batch_size)
    run = Run(name, 0)

    def record(step: int, model: Any, result: Any) -> None:
        if (step + 1) % steps == 0:
            run.epochs.append((step + 1) // steps)
            run.seconds.append(result.seconds)
            run.test.append(evaluate(model, a, s)["rel_l2_mean"])
            model.train()
            if not quiet:
                print(f"  {name} epoch {run.epochs[-1]}: {run.seconds[-1]:.0f} s, test {run.test[-1]:.4f}", flush=True)

    model, _, rec = train(train_path, cfg, callback=record, test_path=test_path)
    run.params = rec["n_params"]
    return run, model


def _fno(train_path: Path, test_path: Path, quiet: bool) -> Run:
    from neuralop.models import FNO

    torch.manual_seed(0)
    a, s = _images(train_path)
    at, st = _images(test_path)
    mean, std = a.mean(), a.std()
    s_mean, s_std = s.mean(), s.std()
    x = torch.as_tensor((a - mean) / std, dtype=torch.float32)
    y = torch.as_tensor(s, dtype=torch.float32)
    xt = torch.as_tensor((at - mean) / std, dtype=torch.float32)
    # neuraloperator counts the modes of both signs: 24 = the FNO paper's "modes = 12"
    net = FNO(n_modes=(24, 24), hidden_channels=32, n_layers=4, in_channels=1, out_channels=1,
              domain_padding=9 / 64)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)  # the FNO paper's (per epoch)
    run = Run("neuraloperator FNO", sum(p.numel() * (2 if p.is_complex() else 1) for p in net.parameters()),
              notes="12 modes (n_modes 24), width 32, 4 layers, domain padding 9/64; Adam 1e-3, wd 1e-4, batch 20")
    rng = np.random.default_rng(0)
    trained = 0.0
    for epoch in range(EPOCHS):
        start = time.perf_counter()
        net.train()
        for idx in np.array_split(rng.permutation(len(x)), len(x) // 20):
            opt.zero_grad(set_to_none=True)
            pred = net(x[idx]) * s_std + s_mean
            rel = (pred - y[idx]).flatten(1).norm(dim=1) / y[idx].flatten(1).norm(dim=1)
            rel.sum().backward()
            opt.step()
        sched.step()
        trained += time.perf_counter() - start
        net.eval()
        with torch.inference_mode():
            pred = torch.cat([net(xt[i:i + 50]) for i in range(0, len(xt), 50)]) * s_std + s_mean
        run.epochs.append(epoch + 1)
        run.seconds.append(trained)
        run.test.append(error_metrics(pred.double().numpy(), st)["rel_l2_mean"])
        if not quiet:
            print(f"  FNO epoch {epoch + 1}: {trained:.0f} s, test {run.test[-1]:.4f}", flush=True)
    return run


def _inference(model: Any, test_path: Path) -> dict[str, float]:
    a, _ = _images(test_path)
    predict(model.eval(), a[:8])  # warm-up
    start = time.perf_counter()
    predict(model, a)
    ours = time.perf_counter() - start
    family = dataclasses.replace(load_problem(FAMILY), family=dataclasses.replace(load_problem(FAMILY).family, seed=1))
    members = [member(family, i) for i in range(len(a))]
    start = time.perf_counter()
    for m in members:
        solve_reference(m)
    reference = time.perf_counter() - start
    return {"mgno_s": ours, "reference_s": reference, "speedup": reference / ours, "n": len(a)}


def _resolution(model: Any, test64: Path, test128: Path) -> dict[str, float]:
    a, s = _images(test128)
    fine = evaluate(model, a, s)["rel_l2_mean"]
    _, s64 = _images(test64)
    # the 64^2 FD solutions at the 128^2 nodes (bilinear), against the 128^2 FD solutions
    from scipy.interpolate import RegularGridInterpolator

    g64, g128 = np.linspace(0, 1, 64), np.linspace(0, 1, 128)
    pts = np.stack(np.meshgrid(g128, g128, indexing="ij"), -1).reshape(-1, 2)
    up = np.stack([RegularGridInterpolator((g64, g64), u[0])(pts).reshape(128, 128) for u in s64])[:, None]
    gap = error_metrics(up, s)["rel_l2_mean"]
    return {"mgno_128": fine, "fd64_vs_fd128": gap}


def run(out: Path, budget_s: float | None, quiet: bool = False) -> int:
    if budget_s is not None and not quiet:
        print("note: the mgno benchmark runs a fixed protocol; --budget is not used", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="sciml-mgno-"))
    try:
        start = time.perf_counter()
        train_path, test64, test128 = folder / "train.h5", folder / "test64.h5", folder / "test128.h5"
        generate(FAMILY, N_TRAIN, train_path, progress=not quiet)
        generate(FAMILY, N_TEST, test64, seed=1, progress=not quiet)
        generate(FAMILY, N_TEST, test128, seed=1, overrides=FINE, progress=not quiet)
        data_s = time.perf_counter() - start
        if not quiet:
            print(f"data in {data_s:.0f} s", flush=True)
        mg, model = _mgno("sciml mgno", train_path, test64, quiet)
        mg.notes = "4 layers x 12 channels, 6 levels (restrict f), one-cycle 5e-4, batch 8"
        speed = _inference(model, test64)
        resolution = _resolution(model, test64, test128)
        res, _ = _mgno("sciml mgno, restrict residual", train_path, test64, quiet, restrict="residual")
        res.notes = "the same with f - A u restricted (the multigrid reading)"
        fno = _fno(train_path, test64, quiet)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    runs = [mg, res, fno]
    text = _summary(runs, speed, resolution, data_s)
    files = _write(out, runs, speed, resolution, text)
    print(text)
    if not quiet:
        print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _table(runs: list[Run]) -> str:
    t = runs[0].seconds[-1]
    lines = ["| method | parameters | epochs | train s | test rel. L2 (25 epochs) | at MgNO's time | notes |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r.method} | {r.params:,} | {r.epochs[-1]} | {r.seconds[-1]:.0f} | {r.test[-1]:.4f} | "
                     f"{r.at_time(t):.4f} | {r.notes} |")
    return "\n".join(lines)


def _summary(runs: list[Run], speed: dict[str, float], resolution: dict[str, float], data_s: float) -> str:
    mg, res, fno = runs
    t = mg.seconds[-1]
    at = fno.at_time(t)
    versus = (f"{at:.4f} at MgNO's training time (MgNO/FNO = {mg.test[-1] / at:.2f})" if math.isfinite(at)
              else "no epoch finished within MgNO's training time")
    return (f"Darcy (piecewise constant 12/3), 1,000 training / 200 test members at 64^2 (data {data_s:.0f} s): "
            f"MgNO ({mg.params:,} parameters) {mg.test[-1]:.4f} mean relative L2 after {EPOCHS} epochs in {t:.0f} s "
            f"(restricting the residual instead: {res.test[-1]:.4f}). neuraloperator's FNO ({fno.params:,} "
            f"parameters, complex weights counted twice): {versus}, {fno.test[-1]:.4f} after "
            f"{EPOCHS} epochs in {fno.seconds[-1]:.0f} s. Inference on {speed['n']} test inputs: "
            f"{speed['mgno_s']:.2f} s vs {speed['reference_s']:.2f} s for the FD reference ({speed['speedup']:.1f}x). "
            f"The 64^2 model on 128^2 inputs: {resolution['mgno_128']:.4f} against the 128^2 FD solutions (the 64^2 "
            f"and 128^2 FD solutions differ by {resolution['fd64_vs_fd128']:.4f}).")


def _write(out: Path, runs: list[Run], speed: dict[str, float], resolution: dict[str, float],
           text: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = environment()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for r in runs:
        ax.semilogy(r.seconds, r.test, marker=".", label=f"{r.method} ({r.params:,})")
        bx.semilogy(r.epochs, r.test, marker=".", label=r.method)
    ax.set_xlabel("training wall time [s]")
    bx.set_xlabel("epoch")
    for a in (ax, bx):
        a.set_ylabel("test relative L2 (mean over 200)")
        a.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    payload = {"meta": env, "runs": [asdict(r) for r in runs], "inference": speed, "resolution": resolution}
    return save_page(out, "mgno", "MgNO on Darcy flow vs neuraloperator's FNO", fig,
                     [text, "", _table(runs), ""], "test error vs training time and epochs", payload, env)
