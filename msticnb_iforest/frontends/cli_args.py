"""
Argument types of the command line: each text is parsed and checked as Python checks it.

`param_type` turns a hunt parameter of `msticnb_iforest.params.PARAMETERS`
into an argparse type with the parameter's own constraint and message;
the others parse the few arguments that are not hunt parameters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..params import PARAMETERS, short_repr

__all__ = ["contamination", "non_negative", "out_folder", "param_type", "positive", "size"]


def param_type(
    name: str, parse: Callable[[str], Any] | None = None, words: dict[str, Any] | None = None
) -> Callable[[str], Any]:
    """
    Return an argparse type for hunt parameter `name` of `params.PARAMETERS`.

    The text is parsed (`parse`, e.g. ``int``; or one of `words`, e.g.
    ``{"auto": "auto"}``, case ignored), then checked with the parameter's
    own constraints, so the command line accepts what Python accepts and
    says the same range: ``argument --n-estimators: must be an integer in
    [1, 10000], got '0'``.
    """
    param = PARAMETERS[name]
    words = words or {}
    alternatives = "".join(f" or {word!r}" for word, value in words.items() if value is None)

    def convert(text: str) -> Any:
        try:
            word = text.strip().lower()
            value = words[word] if word in words else (parse or str)(text)
            return param.check(value)
        except (ValueError, OverflowError):  # ParameterError is a ValueError
            raise argparse.ArgumentTypeError(
                f"must be {param.allowed(cli=True)}{alternatives}, got {short_repr(text)}"
            ) from None

    convert.__name__ = name  # argparse names the type in some of its messages
    return convert


def contamination(text: str) -> float | str:
    """Parse --contamination: a number in (0, 0.5] or 'auto'."""
    return param_type("contamination", float, {"auto": "auto"})(text)


def non_negative(text: str) -> int:
    """Parse a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive(text: str) -> int:
    """Parse a whole number, 1 or more."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more, got 0")
    return value


def out_folder(text: str) -> str:
    """Accept a folder name that is not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return text


def size(text: str) -> int:
    """Parse a size in bytes or with a unit (``4G``), as `sources.readers.parse_size` does."""
    from ..errors import ParameterError
    from ..sources.readers import parse_size

    try:
        return parse_size(text)
    except ParameterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
