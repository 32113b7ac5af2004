"""What a boundary-condition kind is: the base class of the modules of :mod:`sciml.bcs`.

A kind states, in one place, the keys its ``[[boundary]]`` entries take and how they are read,
whether it covers boundary points (``periodic`` identifies faces instead), and the mean-square
terms it adds to a physics-informed loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar


@dataclass(frozen=True)
class Entry:
    """What a kind reads from one ``[[boundary]]`` table."""

    value: tuple = ()
    alpha: Any = None
    components: tuple[int, ...] = ()
    axis: int = 0


@dataclass(frozen=True)
class ReadContext:
    """What reading an entry needs: the problem's fields, space coordinates, the names an
    expression may use, the domain, and ``exprs(sec, key, count, default)`` /
    ``expr(sec, key)`` building expressions of the file being loaded."""

    fields: tuple[str, ...]
    space: tuple[str, ...]
    domain: Any
    exprs: Callable[..., tuple]
    expr: Callable[..., Any]
    variables: tuple[str, ...] = ()  # the coordinates, then t for a time-dependent problem
    parse: Callable[..., Any] | None = None  # parse(text, key, extra_names): an expression at sec's key


class BoundaryKind:
    """Base of the boundary-condition kinds; a module subclasses it and registers an instance
    with :func:`sciml.bcs.register`."""

    name: ClassVar[str]
    doc: ClassVar[str]
    covers_points: ClassVar[bool] = True  # False: it pairs faces (periodic) and takes no points
    prescribes_values: ClassVar[bool] = False  # True: its value is the field itself (exact imposition, scales)
    data_values: ClassVar[bool] = True  # False: its expressions read the fields (not data to tabulate)
    prescribes_flux: ClassVar[bool] = False  # True: its value is the boundary flux (a load: scales)
    flux_only: ClassVar[bool] = False  # True: the flux equals the data, no field term (exact on flux outputs)
    types: ClassVar[tuple[str, ...] | None] = None  # the PDE types it belongs to (None: any)

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        """The entry's data from its table ``sec`` (a loader section: ``raw``, ``string``,
        ``error``)."""
        return Entry(ctx.exprs(sec, "value", len(ctx.fields), ["0"] * len(ctx.fields)))

    def terms(self, loss: Any, model: Any, group: Any) -> list[Any]:  # pragma: no cover - abstract
        """Mean squares of the condition's residual at the boundary points of ``group``
        (:class:`sciml.nn.physics.BoundaryBatch`), scaled as the loss scales them."""
        raise NotImplementedError
