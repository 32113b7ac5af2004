import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def write_problem(tmp_path):
    """Write a TOML problem file into a temporary folder and return its path."""
    def write(text: str, name: str = "p.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


POISSON = '''
name = "t"
[pde]
type = "poisson"
f = "2*pi**2*sin(pi*x)*sin(pi*y)"
[domain]
type = "box"
lo = [0.0, 0.0]
hi = [1.0, 1.0]
[[boundary]]
where = "all"
type = "dirichlet"
value = "0"
[exact]
u = "sin(pi*x)*sin(pi*y)"
'''
