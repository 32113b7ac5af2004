"""Cost of a residual written in the problem file against the same PDE as a built-in type.

Poisson ``-lap u = f`` on the unit square, once as ``type = "poisson"`` and once as
``type = "custom"`` with ``residual = "-(u_xx + u_yy) - f"``: the same PINN (4 x 50 tanh, same
seed), the same collocation points, one thread; the time of a loss evaluation plus its backward
pass, best of five rounds of 200 steps each, the two forms interleaved.

    OMP_NUM_THREADS=1 python benchmarks/scripts/custom_speed.py
"""

from __future__ import annotations

import time

import torch

from sciml.nn.collocation import PointSampler
from sciml.nn.physics import PhysicsLoss
from sciml.problems import problem_from_dict
from sciml.solvers.pinn import PINNConfig, PINNNet

F = "2*pi**2*sin(pi*x)*sin(pi*y)"
COMMON = {"domain": {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]},
          "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]}
BUILT_IN = problem_from_dict({"name": "built-in", "pde": {"type": "poisson", "f": F}, **COMMON})
CUSTOM = problem_from_dict({"name": "custom", "pde": {"type": "custom", "residual": f"-(u_xx + u_yy) - ({F})"},
                            **COMMON})


def seconds_per_step(problem, points, steps: int = 200) -> float:
    torch.manual_seed(0)
    net = PINNNet([0.0, 0.0], [1.0, 1.0], 1, PINNConfig())
    loss = PhysicsLoss(problem)
    batch = loss.prepare(points)
    start = time.perf_counter()
    for _ in range(steps):
        net.zero_grad()
        loss.total(loss.terms(net, batch)).backward()
    return (time.perf_counter() - start) / steps


def main() -> None:
    torch.set_num_threads(1)
    points = PointSampler(BUILT_IN, 2000, 400, 1, seed=0).sample()
    best = {"built-in": float("inf"), "custom": float("inf")}
    for _ in range(5):
        for name, problem in (("built-in", BUILT_IN), ("custom", CUSTOM)):
            best[name] = min(best[name], seconds_per_step(problem, points))
    ratio = best["custom"] / best["built-in"]
    print(f"built-in poisson {1e3 * best['built-in']:.2f} ms/step, custom residual "
          f"{1e3 * best['custom']:.2f} ms/step: ratio {ratio:.2f} (2,000 interior + 400 boundary points, 1 thread)")


if __name__ == "__main__":
    main()
