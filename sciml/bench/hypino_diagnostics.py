"""What a HyPINO model gets wrong, beside its benchmark errors: its error on held-out samples
of its own training distribution, how well the zero-shot field meets its own Dirichlet data,
and the ratio of its amplitude to the truth's (a network collapsed toward small outputs scores
a relative error near 1 on every problem, whatever it learned).

>>> import numpy as np
>>> amplitude_ratio(np.array([0.5, -1.0]), np.array([2.0, 1.0]))
0.5
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ..problems import Problem


def amplitude_ratio(field: np.ndarray, truth: np.ndarray) -> float:
    """``max |field| / max |truth|``."""
    top = float(np.abs(truth).max())
    return float(np.abs(field).max()) / top if top > 0 else float("inf")


def dirichlet_mismatch(problem: Problem, evaluate: Callable[[np.ndarray], np.ndarray], truth_scale: float,
                       n: int = 400) -> float | None:
    """``||u - g|| / max(||g||, sqrt(k) truth_scale)`` over ``n`` boundary points, ``k`` of
    which carry Dirichlet data ``g`` (the truth's RMS stands in for a zero ``g``); None when the
    problem prescribes no Dirichlet data."""
    sample = problem.domain.sample_boundary(n, "sobol", np.random.default_rng(0))
    which = problem.assign_boundary(sample.points, sample.tags)
    got, want = [], []
    for i, bc in enumerate(problem.boundaries):
        hit = which == i
        if bc.type != "dirichlet" or not hit.any():
            continue
        got.append(evaluate(sample.points[hit])[:, 0])
        want.append(bc.values(sample.points[hit])[:, 0])
    if not got:
        return None
    u, g = np.concatenate(got), np.concatenate(want)
    return float(np.linalg.norm(u - g) / max(float(np.linalg.norm(g)), np.sqrt(len(g)) * truth_scale, 1e-30))


def held_out(model: Any, cfg: Any, count: int = 32, seed: int = 10**6) -> dict[str, float]:
    """Zero-shot relative L2 error and amplitude ratio (medians) on ``count`` supervised samples
    of the training distribution drawn from seeds training never uses."""
    from ..data.pde_samples import collate, draw_sample

    rng = np.random.default_rng([seed, 1])
    batch = collate([draw_sample(rng, cfg.samples(), supervised=True) for _ in range(count)])
    param = next(model.parameters())
    with torch.no_grad():
        flat = model(batch["channels"].to(param.dtype), batch["coefficients"].to(param.dtype))
        u = model.target(batch["interior"].to(param.dtype), flat)[..., 0].double().numpy()
    truth = batch["targets"][..., 0].double().numpy()
    errors = np.linalg.norm(u - truth, axis=1) / np.maximum(np.linalg.norm(truth, axis=1), 1e-30)
    ratios = [amplitude_ratio(a, b) for a, b in zip(u, truth)]
    return {"samples": count, "rel_l2_median": float(np.median(errors)), "rel_l2_mean": float(np.mean(errors)),
            "amplitude_ratio_median": float(np.median(ratios))}


def loss_curves(history: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """Per loss term, ``(step, value)`` from a training history (records with ``step`` and the
    terms)."""
    skip = {"step", "phase", "loss", "lr", "t"}
    names = sorted({k for h in history for k in h if k not in skip})
    return {k: [(int(h["step"]), float(h[k])) for h in history if k in h] for k in names}
