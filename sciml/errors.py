"""Exception types that map onto the CLI's exit codes.

``ProblemError`` is bad input (exit code 2): a malformed problem file, an unknown key, a
forbidden expression, a missing mesh, a solver asked for a PDE it does not support.
``SolverError`` is a failure while solving (exit code 1): divergence, NaN, a singular system.
"""

from __future__ import annotations


class SciMLError(Exception):
    """Base class of every error sciml raises on purpose."""

    exit_code = 1


class ProblemError(SciMLError, ValueError):
    """Bad input. The message names the file and key where that is known.

    Parameters
    ----------
    message
        What was wrong and what was expected.
    source
        The problem file (or other input) the error is about, if any.
    key
        Dotted TOML path of the offending key, if any.
    """

    exit_code = 2

    def __init__(self, message: str, source: object | None = None, key: str | None = None):
        self.message = message
        self.source = source
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.key:
            where.append(f"[{self.key}]")
        return (": ".join([" ".join(where), self.message])) if where else self.message

    def located(self, source: object | None = None, key: str | None = None) -> "ProblemError":
        """Return a copy that names ``source``/``key`` where this one names none."""
        return ProblemError(self.message, self.source or source, self.key or key)


class SolverError(SciMLError, RuntimeError):
    """A solver failed on valid input (diverged, produced NaN, singular system)."""

    exit_code = 1


class SciMLWarning(UserWarning):
    """Something the user must see but that does not stop the run (an input not used as
    written, points outside the domain). ``sciml solve`` prints each as one line and records
    it in summary.json under ``warnings``."""


class OutsideDomainWarning(SciMLWarning):
    """Some evaluation points lay outside the solution's domain or time interval (their values
    are NaN)."""
