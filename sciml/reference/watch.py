"""A watch on a reference that integrates in time: it stops a solution that blows up (a
non-finite value, or growth far beyond the data's scale) with :class:`SolverError` instead of
letting the integrator shrink its steps for ever, and shows progress in time on a terminal."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import SolverError


class TimeWatch:
    """Check states and report progress of a time integration over ``[start, end]``.

    Parameters
    ----------
    what
        What is integrated, for messages (``"burgers"``).
    start, end
        The time interval.
    scale
        Magnitude of the data (initial and boundary values); a state larger than ``growth``
        times ``max(1, scale)`` counts as a blow-up. ``growth = None`` checks finiteness only
        (ODEs may legitimately grow without bound).

    Examples
    --------
    >>> watch = TimeWatch("demo", 0.0, 1.0, scale=1.0)
    >>> watch.check(0.5, np.array([1.0, 2.0]))
    >>> watch.check(0.6, np.array([np.nan]))
    Traceback (most recent call last):
    ...
    sciml.errors.SolverError: the demo reference blew up at t = 0.6: non-finite values
    """

    def __init__(self, what: str, start: float, end: float, scale: float = 1.0, growth: float | None = 1e8):
        from ..nn.trainer import show_progress

        self.what, self.start, self.end = what, float(start), float(end)
        self.limit = None if growth is None else growth * max(1.0, float(scale))
        self.bar = None
        self.done = 0
        if show_progress(None):
            from tqdm import tqdm

            self.bar = tqdm(total=1000, desc=f"reference ({what}), time", delay=2.0, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def check(self, t: float, state: np.ndarray) -> None:
        """Raise :class:`SolverError` when ``state`` at time ``t`` has blown up."""
        if not np.all(np.isfinite(state)):
            raise SolverError(f"the {self.what} reference blew up at t = {t:.4g}: non-finite values")
        if self.limit is not None:
            peak = float(np.max(np.abs(state))) if np.size(state) else 0.0
            if peak > self.limit:
                raise SolverError(f"the {self.what} reference blew up at t = {t:.4g}: |u| = {peak:.3g}, beyond "
                                  f"{self.limit:.3g} (1e8 times the data's scale); is the problem well posed?")
        if self.bar is not None:
            done = int(1000 * min(max((t - self.start) / (self.end - self.start), 0.0), 1.0))
            if done > self.done:
                self.bar.update(done - self.done)
                self.done = done

    def rhs(self, f: Callable[[float, np.ndarray], np.ndarray]) -> Callable[[float, np.ndarray], np.ndarray]:
        """``f(t, y)`` for ``solve_ivp`` that checks every state it is given."""
        def checked(t: float, y: np.ndarray) -> np.ndarray:
            self.check(t, y)
            return f(t, y)
        return checked

    def __enter__(self) -> "TimeWatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()
