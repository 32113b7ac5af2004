"""Use the deep conjugate direction method inside your own time loop.

A disc moves through a 64 x 64 grid; every step builds the pressure matrix of the new fluid
cells, takes some right-hand side (here: a random divergence), and solves with DCDM warm-started
from the previous pressure, then with plain CG for comparison.

    python examples/deep_cg_loop.py
"""

import time

import numpy as np

from sciml.linalg import cg, pressure_matrix
from sciml.linalg.dcdm import dcdm

n = 64
x, y = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5, indexing="ij")
rng = np.random.default_rng(0)
pressure = np.zeros((n, n))
for step in range(5):
    centre = (0.3 + 0.1 * step) * n
    fluid = (x - centre) ** 2 + (y - 0.5 * n) ** 2 > (0.1 * n) ** 2  # True where there is fluid
    A = pressure_matrix(fluid)  # scipy CSR on the fluid cells, row-major
    b = rng.standard_normal(int(fluid.sum()))  # e.g. minus the velocity divergence
    history = []
    start = time.perf_counter()
    p, info = dcdm(A, b, pressure[fluid], mask=fluid, rtol=1e-6, history=history)  # the shipped model
    dcdm_s = time.perf_counter() - start
    assert info == 0, "not converged"
    cg_history = []
    cg(A, b, pressure[fluid], rtol=1e-6, history=cg_history)
    pressure = np.zeros((n, n))
    pressure[fluid] = p
    print(f"step {step}: DCDM {len(history) - 1} iterations ({dcdm_s:.2f} s), CG {len(cg_history) - 1}")
