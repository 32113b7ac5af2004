"""sciml: neural PDE and operator solvers, validated against SciPy references."""

__version__ = "0.1.0"
