"""The ``>>>`` examples of the entry points run as tests."""

import doctest
import importlib

import pytest

MODULES = ["sciml.pdes", "sciml.problems.expr", "sciml.problems.checks", "sciml.problems.derivatives",
           "sciml.problems.data", "sciml.geometry.dims", "sciml.geometry.csg", "sciml.bcs",
           "sciml.reference.watch", "sciml.shipped", "sciml.netcdf", "sciml.nn.metrics", "sciml.solution",
           "sciml.problems.loader", "sciml.bench.hypino_diagnostics"]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
