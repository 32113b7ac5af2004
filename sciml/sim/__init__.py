"""Simulation loops that use the linear solvers: a 2D smoke plume with pressure projection
(:mod:`sciml.sim.smoke`)."""

from .smoke import SmokeConfig, SmokeResult, run_smoke

__all__ = ["SmokeConfig", "SmokeResult", "run_smoke"]
