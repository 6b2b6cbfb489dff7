"""
The kinds of constraint a parameter can have, and `Param`, which holds them.

`msticnb_iforest.params` builds its one table of every parameter from these;
the shapes follow scikit-learn's parameter constraints: an interval of
numbers, a set of options, or a named check, any of which may allow None.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from .errors import ParameterError

_REPR_WIDTH = 80


def short_repr(value: Any) -> str:
    """Return ``repr(value)``, cut to a readable width."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__} object>"
    if len(text) > _REPR_WIDTH:
        text = f"{text[: _REPR_WIDTH - 20]}...{text[-10:]} ({len(text):,} characters)"
    return text


def parse_size(text: str) -> int:
    """
    Read a size such as ``"4G"``, ``"500M"`` or ``"1048576"`` as bytes.

    Suffixes ``K``, ``M``, ``G`` and ``T`` (optionally followed by ``B`` or
    ``iB``, any case) are powers of 1024.

    Parameters
    ----------
    text : str
        The size, e.g. the value of ``--max-bytes``.

    Returns
    -------
    int
        The size in bytes (a fraction of a byte is dropped).

    Raises
    ------
    ParameterError
        If `text` is not a positive size.

    Examples
    --------
    >>> parse_size("4G")
    4294967296
    >>> parse_size("500 MiB") == 500 * 2**20
    True

    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    value = float(match[1]) * 1024 ** " kmgt".index(match[2].lower() or " ") if match else 0
    if value < 1:
        raise ParameterError(f"A size must be a number of bytes such as 4G or 500M, got {text!r}.")
    return int(value)


#: The least memory limit the columnar engine accepts.
MIN_MEMORY_LIMIT = 64 * 2**20


def state_path(value: Any) -> str:
    """
    Read the path of a state store: non-empty text or an ``os.PathLike``, returned as text.

    Raises
    ------
    ValueError
        If `value` is not a path.

    Examples
    --------
    >>> state_path("runs/state.sqlite")
    'runs/state.sqlite'

    """
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value.strip() and "\0" not in value:
        return value
    raise ValueError


def memory_size(value: Any) -> int:
    """
    Read a memory limit given as bytes or as a size such as ``"2G"``.

    Parameters
    ----------
    value : int or str
        Bytes, or a size `parse_size` reads (powers of 1024).

    Returns
    -------
    int
        The limit in bytes, at least :data:`MIN_MEMORY_LIMIT` (64 MiB).

    Raises
    ------
    ParameterError
        If `value` is not a size, or is under 64 MiB.

    Examples
    --------
    >>> memory_size("1G")
    1073741824

    """
    if is_bool(value) or not isinstance(value, (Integral, str)):
        raise ParameterError(
            f"memory_limit must be a number of bytes or a size such as '2G', got {value!r}."
        )
    size = parse_size(value) if isinstance(value, str) else int(value)
    if size < MIN_MEMORY_LIMIT:
        raise ParameterError(f"memory_limit must be at least 64 MiB, got {value!r}.")
    return size


# -- constraint types ---------------------------------------------------------------


class Constraint:
    """One kind of allowed value: `convert` returns it normalized, or raises."""

    #: Shown in messages: ``"an integer in [1, 10000]"``.
    description: str = ""
    #: Only a Python caller can give such a value (not said on the command line).
    python_only: bool = False

    def convert(self, value: Any) -> Any:
        """Return `value` normalized (e.g. numpy int to int); ValueError if not allowed."""
        raise NotImplementedError

    def describe(self) -> str:
        """Return the allowed values in words."""
        return self.description


class NoneConstraint(Constraint):
    """Allow None (only from Python: a command line has no None)."""

    description = "None"
    python_only = True

    def convert(self, value: Any) -> Any:
        """Return None, or raise ValueError for anything else."""
        if value is not None:
            raise ValueError
        return None


def is_bool(value: Any) -> bool:
    """Tell ``bool`` and numpy's ``bool_`` apart from numbers (without importing numpy)."""
    kind = type(value)
    return kind is bool or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


class Interval(Constraint):
    """
    Numbers of one kind between two bounds.

    Parameters
    ----------
    kind : Integral or Real
        ``Integral`` accepts Python and numpy integers; ``Real`` accepts them
        and floats. Booleans are never numbers here, nor is NaN.
    left, right : number or None
        The bounds; None is unbounded.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.

    """

    def __init__(self, kind: type, left: float | None, right: float | None, closed: str = "both"):
        if kind not in (Integral, Real) or closed not in ("both", "left", "right", "neither"):
            raise TypeError("Interval takes Integral or Real and a known 'closed'.")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def convert(self, value: Any) -> Any:
        """Return the number as int or float; ValueError outside the interval."""
        if is_bool(value) or not isinstance(value, self.kind):
            raise ValueError
        number = int(value) if self.kind is Integral else float(value)
        if isinstance(number, float) and math.isnan(number):
            raise ValueError
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        if self.left is not None and (number < self.left or (number == self.left and not low_in)):
            raise ValueError
        if self.right is not None and (
            number > self.right or (number == self.right and not high_in)
        ):
            raise ValueError
        return number

    def describe(self) -> str:
        """Return e.g. ``"an integer in [1, 10000]"``."""
        what = "an integer" if self.kind is Integral else "a number"
        if self.left is None and self.right is None:
            return what
        if self.right is None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.left:,}"
        if self.left is None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.right:,}"
        low = "[" if self.closed in ("both", "left") else "("
        high = "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {low}{self.left}, {self.right}{high}"


class Options(Constraint):
    """One of a few exact values (strings are compared as given)."""

    def __init__(self, *values: Any):
        self.values = values

    def convert(self, value: Any) -> Any:
        """Return the matching option; ValueError if none matches."""
        for option in self.values:
            if type(value) is type(option) and value == option:
                return option
        raise ValueError

    def describe(self) -> str:
        """Return the options, quoted."""
        return " or ".join(repr(v) for v in self.values)


class Check(Constraint):
    """
    Values a function accepts: it returns the normalized value or raises.

    Parameters
    ----------
    func : callable
        Takes the value; returns it normalized, or raises ValueError or
        TypeError when it is not allowed.
    description : str or callable
        The allowed values in words (a callable is called when a message is
        written, so a description may name things imported late).
    python_only : bool, default=False
        Values only a Python caller can give; command-line messages leave
        them out.

    """

    def __init__(
        self,
        func: Callable[[Any], Any],
        description: str | Callable[[], str],
        *,
        python_only: bool = False,
    ):
        self.func, self._description, self.python_only = func, description, python_only

    def convert(self, value: Any) -> Any:
        """Return what the function returns; ValueError if it refuses the value."""
        try:
            return self.func(value)
        except (ValueError, TypeError, OverflowError, ArithmeticError):
            raise ValueError from None

    def describe(self) -> str:
        """Return the description (calling it when it is a function)."""
        text = self._description
        return text() if callable(text) else text


@dataclass(frozen=True)
class Param:
    """
    One parameter: its default, the values it accepts, and what it means.

    Attributes
    ----------
    name : str
        The keyword (the command-line flag is ``--`` and the name with
        ``-`` for ``_``, where there is one).
    default : Any
        The default value.
    constraints : tuple of Constraint
        The value must satisfy one of them.
    help : str
        One line on what the parameter does.

    """

    name: str
    default: Any
    constraints: tuple[Constraint, ...]
    help: str = ""

    def allowed(self, *, cli: bool = False) -> str:
        """Return the allowed values in words (on the command line: those it can give)."""
        parts = [c.describe() for c in self.constraints if not (cli and c.python_only)]
        if len(parts) <= 2:
            return " or ".join(parts)
        return ", ".join(parts[:-1]) + " or " + parts[-1]

    def message(self, value: Any, *, label: str | None = None, cli: bool = False) -> str:
        """
        Return the error message for a value that is not allowed.

        `label` replaces the parameter's name; with `cli` the message leaves
        out values only Python can pass and has no name (argparse adds the
        flag): ``"must be an integer in [1, 10000], got 0"``.
        """
        if cli:
            return f"must be {self.allowed(cli=True)}, got {short_repr(value)}"
        head = self.name if label is None else label
        return f"{head} must be {self.allowed()}, got {short_repr(value)}."

    def check(self, value: Any, *, label: str | None = None) -> Any:
        """
        Return `value` normalized, or raise ParameterError.

        Parameters
        ----------
        value : Any
            The value to check.
        label : str, optional
            Name used in the message instead of the parameter's.

        """
        for constraint in self.constraints:
            try:
                return constraint.convert(value)
            except ValueError:
                continue
        raise ParameterError(self.message(value, label=label))


#: The state store's path (`state_path`), as the parameter table checks it.
STATE_PATH = Check(state_path, "a path (str or os.PathLike) of the state store")
