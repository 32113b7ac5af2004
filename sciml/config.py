"""Option dataclasses filled from ``[solver.<name>]`` / ``[reference]`` tables and ``--set``."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from typing import Any, Mapping, TypeVar

from .errors import ProblemError

C = TypeVar("C")


#: options that must be above zero (learning rates, steps and sizes of discretisations,
#: tolerances, widths); every other numeric option must be finite and not negative
POSITIVE = re.compile(r"^(lr|\w+_lr|dt|h|rtol|sigma0|omega|siren_omega|fourier_scale|output_scale|"
                      r"lbfgs_history|lbfgs_max_iter|batch_size|n_interior|n_boundary|n_initial|n_gaussians|"
                      r"channels|n_labels|n_times|eval_labels|layers|filters|window|embed|grid|target_width|"
                      r"target_layers|head_hidden|cond|stats)$")


def option_names(cls: type) -> frozenset[str]:
    """The option names an option dataclass takes.

    >>> from sciml.nn.trainer import TrainConfig
    >>> "lr" in option_names(TrainConfig)
    True
    """
    return frozenset(f.name for f in dataclasses.fields(cls))


def build_config(cls: type[C], options: Mapping[str, Any], section: str, source: Any = None) -> C:
    """Instantiate the dataclass ``cls`` from ``options``, rejecting unknown keys, values of
    the wrong type and numbers that are not finite, negative, or zero where a positive value
    is needed (:data:`POSITIVE`), with an error naming ``section.key``."""
    hints = typing.get_type_hints(cls)
    known = option_names(cls)
    for key, value in options.items():
        if key not in known:
            raise ProblemError(f"unknown option (options: {', '.join(sorted(known))})", source,
                               f"{section}.{key}")
        if not _fits(value, hints[key]):
            raise ProblemError(f"expected {_name(hints[key])}, got {value!r}", source, f"{section}.{key}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ProblemError(f"expected a finite number, got {value!r}", source, f"{section}.{key}")
            if value < 0 or (value == 0 and POSITIVE.match(key)):
                raise ProblemError(f"must be {'above' if POSITIVE.match(key) else 'at least'} 0, got {value!r}",
                                   source, f"{section}.{key}")
    try:
        return cls(**{k: (float(v) if hints[k] in (float, float | None) and isinstance(v, int)
                          and not isinstance(v, bool) else v) for k, v in options.items()})
    except ProblemError as exc:  # a config's own check (__post_init__) names the option as key
        raise ProblemError(exc.message, source, f"{section}.{exc.key}" if exc.key else section) from None


def _fits(value: Any, hint: Any) -> bool:
    args = typing.get_args(hint)
    if args and typing.get_origin(hint) in (typing.Union, type(int | None)):
        return any(_fits(value, a) for a in args)
    if typing.get_origin(hint) is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    return isinstance(value, origin or hint)


def _name(hint: Any) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(a) for a in args)
    return " or ".join(_name(a) for a in args) if args else getattr(hint, "__name__", str(hint))
