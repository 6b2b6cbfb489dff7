"""
Every parameter of a hunt in one table: name, default, allowed values, message.

`PARAMETERS` lists each parameter a caller can give `pipeline.hunt`, the
notebooklet's ``run`` or the command line, with its default and the values
it accepts, in the style of scikit-learn's ``_parameter_constraints``. The
defaults are defined here and nowhere else; `check_params` validates a set
of parameters once, before any work, and raises `ParameterError` naming the
parameter, the value and what is allowed::

    >>> check_params(n_estimators=0)
    Traceback (most recent call last):
    ...
    ParameterError: n_estimators must be None or an integer in [1, 10000], got 0.

Python callers pass numbers as numbers (``int``, ``float`` or numpy
scalars; ``bool`` is not a number here); a string of digits is refused,
not guessed at. The command line parses its text arguments and then applies
the same constraints, so both give the same ranges in their messages.

This module imports nothing heavy (no pandas, numpy or scikit-learn): the
command line checks its arguments with it before loading them. Dates and
time spans are parsed with pandas inside their checks.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from .constraints import (
    STATE_PATH,
    Check,
    Constraint,
    Interval,
    NoneConstraint,
    Options,
    Param,
    is_bool,
    memory_size,
    short_repr,
)
from .errors import ParameterError

__all__ = [
    "DEFAULT_BASELINE_DAYS",
    "DEFAULT_CONTAMINATION",
    "DEFAULT_DEMO_DAYS",
    "DEFAULT_DEMO_SEED",
    "DEFAULT_DEMO_USERS",
    "DEFAULT_FEATURE_SET",
    "DEFAULT_FIT_ROWS",
    "DEFAULT_MAX_ACCOUNT_SUMMARIES",
    "DEFAULT_MAX_EXPLAINED",
    "DEFAULT_MAX_PLOTS",
    "DEFAULT_MIN_HISTORY_DAYS",
    "DEFAULT_RANDOM_STATE",
    "DEFAULT_TABLE",
    "EARLIEST",
    "FEATURE_SET_NAMES",
    "LATEST",
    "MAX_DEMO_DAYS",
    "MAX_DEMO_USERS",
    "MAX_ALERTS_PER_DAY",
    "MAX_BASELINE_DAYS",
    "MAX_ESTIMATORS",
    "MAX_HUNT_DAYS",
    "MAX_PLOTS_LIMIT",
    "PARAMETERS",
    "Check",
    "Interval",
    "Options",
    "Param",
    "check_params",
    "check_time",
    "default",
    "short_repr",
]

# -- defaults (the only place they are written) ---------------------------------------

#: Size and seed of the generated demo company, and the largest size accepted.
DEFAULT_DEMO_USERS, DEFAULT_DEMO_DAYS, DEFAULT_DEMO_SEED = 150, 21, 7
MAX_DEMO_USERS, MAX_DEMO_DAYS = 2000, 60

#: Names of the registered feature sets (`msticnb_iforest.features.FEATURE_SETS`
#: maps each to its class; a test keeps the two equal). Here so that the
#: command line can check ``--feature-set`` without importing the feature code.
FEATURE_SET_NAMES = ("baseline", "habits", "seed")

#: The feature set used when none is named.
DEFAULT_FEATURE_SET = "habits"

#: Expected share of outliers among all user-days.
DEFAULT_CONTAMINATION = 0.01
#: Seed of the forest (and of the fit sample).
DEFAULT_RANDOM_STATE = 42
#: Per-outlier and trend plots drawn per kind.
DEFAULT_MAX_PLOTS = 10
#: Outliers given SHAP values and reasons: as many as the HTML report's table shows.
DEFAULT_MAX_EXPLAINED = 500
#: Other days an account needs before its day is compared with its usual activity.
DEFAULT_MIN_HISTORY_DAYS = 5
#: User-days the default feature set builds its trees from (a seeded sample).
DEFAULT_FIT_ROWS = 100_000
#: AccountSummary runs with the notebooklet's ``account_summary`` option.
DEFAULT_MAX_ACCOUNT_SUMMARIES = 3
#: Table the query reads.
DEFAULT_TABLE = "SecurityEvent"
#: Days of history a scheduled hunt (``hunt_days``) scores its days against.
DEFAULT_BASELINE_DAYS = 30

# -- bounds -------------------------------------------------------------------------

#: Most trees. The feature sets' own rules give 100 to about 1,000 (``seed``: 4 per
#: feature plus 2 per row below 500 rows; ``baseline``: 200). Fitting, scoring and
#: SHAP all grow linearly with the trees: 10,000 deep trees take a few hundred MB and
#: about 0.3 s of SHAP per explained outlier, minutes for a run; more buys nothing
#: (scores settle after a few hundred trees) and a billion asks for terabytes.
MAX_ESTIMATORS = 10_000
#: Most plots per kind. Each figure takes about a quarter of a second and over 1 MB
#: while it is open; 100 of each kind is about a minute and 300 MB. The outlier
#: browser draws any other outlier's charts when it is picked.
MAX_PLOTS_LIMIT = 100
#: Most outliers explained. SHAP takes 1 to 6 ms per outlier, so a million is hours;
#: None explains every outlier.
MAX_EXPLAINED_LIMIT = 1_000_000
#: Most days of history asked for: longer than any window (27 years).
MAX_HISTORY_DAYS = 10_000
#: Most days a scheduled hunt reports on, and most days of baseline before them.
MAX_HUNT_DAYS, MAX_BASELINE_DAYS = 366, 90
#: Most outliers reported per day with ``max_alerts_per_day``.
MAX_ALERTS_PER_DAY = 1_000_000
#: Most rows to build the trees from: more than one machine holds as user-days.
MAX_FIT_ROWS = 1_000_000_000
#: Most threads; negative values count back from the number of cores.
MAX_JOBS = 1024
#: Most AccountSummary runs (each queries the workspace several times).
MAX_ACCOUNT_SUMMARIES = 50
#: Longest query chunk for ``split_query_by``: a chunk longer than a year splits no
#: hunting window.
MAX_SPLIT_DAYS = 366
#: First and last day accepted for a window (any time of those days): pandas'
#: Timestamp range (1677-09-21 00:12 to 2262-04-11 23:47) less a whole day each
#: side, so a day before or after any accepted time is still a Timestamp.
EARLIEST = "1677-09-23"
LATEST = "2262-04-09"


#: Longest repr shown in a message.
def _boolean(value: Any) -> bool:
    if not is_bool(value):
        raise ValueError
    return bool(value)


def _callable(value: Any) -> Any:
    if not callable(value):
        raise ValueError
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value


def _any_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _feature_set_name(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in FEATURE_SET_NAMES:
        return value.strip().lower()
    raise ValueError


def _feature_set_names() -> str:
    return "one of " + ", ".join(repr(name) for name in sorted(FEATURE_SET_NAMES))


def _feature_set_instance(value: Any) -> Any:
    # An instance exists only once the feature code is imported; checking for
    # it never imports that code (the command line parses without it).
    base = sys.modules.get(f"{__package__}.features.base")
    if base is None or not isinstance(value, base.FeatureSet):
        raise ValueError
    return value


def _accounts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping | bytes) or not isinstance(value, Iterable):
        raise ValueError
    entries = tuple(value)
    if not all(isinstance(entry, str) and entry.strip() for entry in entries):
        raise ValueError
    return tuple(entry.strip() for entry in entries)


def _n_jobs(value: Any) -> int:
    number = Interval(Integral, -MAX_JOBS, MAX_JOBS).convert(value)
    if number == 0:
        raise ValueError
    return number


#: A table name substituted into KQL: letters, digits and ``_`` only.
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _table(value: Any) -> str:
    if not isinstance(value, str) or not _TABLE_NAME.fullmatch(value):
        raise ValueError
    return value


def check_table_name(table: str) -> str:
    """
    Validate a table name before it is substituted into KQL.

    Raises
    ------
    ParameterError
        If `table` is not a plain identifier (letters, digits, underscore).

    Examples
    --------
    >>> check_table_name("SecurityEvent")
    'SecurityEvent'

    """
    try:
        return _table(table)
    except ValueError:
        raise ParameterError(
            f"table must be a plain table name (letters, digits, '_'), got {table!r}."
        ) from None


def _mapping(value: Any) -> dict:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ValueError
    return dict(value)


def _time_span(value: Any) -> Any:
    """Accept a positive time span of at most MAX_SPLIT_DAYS (returned as given)."""
    import pandas as pd

    if is_bool(value) or isinstance(value, Real):
        raise ValueError  # a bare number has no unit
    delta = pd.Timedelta(str(value).strip().replace("H", "h"))
    if pd.isna(delta) or delta <= pd.Timedelta(0) or delta > pd.Timedelta(days=MAX_SPLIT_DAYS):
        raise ValueError
    return value


def _timestamp(value: Any) -> Any:
    """
    Parse a date or time to a UTC pandas Timestamp in [EARLIEST, end of LATEST].

    Naive values are UTC. Numbers are refused (their unit would be a guess).
    """
    import pandas as pd

    if is_bool(value) or isinstance(value, Real):
        raise ValueError
    stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    if pd.isna(stamp):
        raise ValueError
    from .schema import utc

    stamp = utc(stamp)
    first = pd.Timestamp(EARLIEST, tz="UTC")
    last = pd.Timestamp(LATEST, tz="UTC") + pd.Timedelta(days=1)
    if not first <= stamp < last:
        raise ValueError
    return stamp.as_unit("ns")


_NONE = NoneConstraint()
_DATE = Check(_timestamp, f"a date or time from {EARLIEST} to {LATEST} (UTC)")


# -- the table ----------------------------------------------------------------------


def _param(name: str, default: Any, *constraints: Constraint | None, help: str = "") -> Param:
    return Param(name, default, tuple(_NONE if c is None else c for c in constraints), help)


#: Every hunt parameter, with its default and allowed values.
PARAMETERS: dict[str, Param] = {
    p.name: p
    for p in (
        # pipeline.hunt (and the notebooklet and command line, which call it)
        _param(
            "feature_set",
            None,
            None,
            Check(_feature_set_name, _feature_set_names),
            Check(_feature_set_instance, "a FeatureSet", python_only=True),
            help="feature set; None is the package default ('habits')",
        ),
        _param(
            "contamination",
            None,
            None,
            Options("auto"),
            Interval(Real, 0, 0.5, closed="right"),
            help="expected share of outliers among user-days; None is the feature set's own",
        ),
        _param(
            "n_estimators",
            None,
            None,
            Interval(Integral, 1, MAX_ESTIMATORS),
            help="trees in the forest; None is the feature set's rule",
        ),
        _param(
            "random_state",
            DEFAULT_RANDOM_STATE,
            None,
            Interval(Integral, 0, 2**32 - 1),  # what scikit-learn accepts as a seed
            help="seed of the forest; None draws a fresh one",
        ),
        _param(
            "account",
            None,
            None,
            Check(_text, "a non-empty string"),
            help="report only this account's outliers",
        ),
        _param("shap", True, Check(_boolean, "True or False"), help="SHAP values for outliers"),
        _param(
            "max_explained",
            DEFAULT_MAX_EXPLAINED,
            None,
            Interval(Integral, 0, MAX_EXPLAINED_LIMIT),
            help="most outliers given SHAP values and reasons; None explains all",
        ),
        _param(
            "n_jobs",
            None,
            None,
            Check(_n_jobs, f"a non-zero integer in [-{MAX_JOBS}, {MAX_JOBS}]"),
            help="threads; None uses every core, -2 all but one",
        ),
        _param(
            "progress",
            None,
            None,
            Check(_callable, "a callable"),
            help="called with a message as each stage starts",
        ),
        _param(
            "allow_accounts",
            None,
            None,
            Check(_accounts, "an account name or a list of non-empty account names"),
            help="known-benign accounts: scored, never reported",
        ),
        _param(
            "min_history_days",
            None,  # the feature set's own: DEFAULT_MIN_HISTORY_DAYS for 'baseline', 'habits'
            None,
            Interval(Integral, 0, MAX_HISTORY_DAYS),
            help="other days an account needs before it is compared with its usual "
            f"(None: the feature set's, {DEFAULT_MIN_HISTORY_DAYS} for 'baseline' and 'habits')",
        ),
        _param(
            "hunt_days",
            None,
            None,
            Interval(Integral, 1, MAX_HUNT_DAYS),
            help="report only the last this many days, scored against the baseline_days "
            "before them; None scores every day of the window against the others",
        ),
        _param(
            "baseline_days",
            DEFAULT_BASELINE_DAYS,
            Interval(Integral, 1, MAX_BASELINE_DAYS),
            help="days before the hunt_days the forest is fitted on (only with hunt_days)",
        ),
        _param(
            "max_alerts_per_day",
            None,
            None,
            Interval(Integral, 1, MAX_ALERTS_PER_DAY),
            help="most outliers reported per day, highest score first; None: no cap",
        ),
        _param("state", None, None, STATE_PATH, help="the SQLite state store; None: no memory"),
        _param(
            "memory_limit",
            None,
            None,
            Check(memory_size, "a size such as '4G' (at least 64 MiB)"),
            help="the columnar engine's memory for files of raw events, past which it spills "
            "to a temporary folder; None is 2 GiB",
        ),
        # the default feature set's fit sample (BaselineFeatures, model.fit_score)
        _param(
            "fit_rows",
            DEFAULT_FIT_ROWS,
            None,
            Interval(Integral, 1, MAX_FIT_ROWS),
            help="user-days to build the trees from; None uses all",
        ),
        # the notebooklet's run and the command line
        _param(
            "max_plots",
            DEFAULT_MAX_PLOTS,
            Interval(Integral, 0, MAX_PLOTS_LIMIT),
            help="most per-outlier and trend plots",
        ),
        _param(
            "max_account_summaries",
            DEFAULT_MAX_ACCOUNT_SUMMARIES,
            Interval(Integral, 0, MAX_ACCOUNT_SUMMARIES),
            help="most AccountSummary runs (option account_summary)",
        ),
        _param(
            "split_query_by",
            None,
            None,
            Check(_time_span, f"a positive time span such as '1D', at most {MAX_SPLIT_DAYS} days"),
            help="query the window in chunks of this size",
        ),
        _param(
            "table",
            DEFAULT_TABLE,
            Check(_table, "a plain table name (letters, digits, '_')"),
            help="table to query",
        ),
        _param(
            "add_query_items",
            "",
            Check(_any_text, "a string of KQL"),
            help="raw KQL after the query's filters; trusted users only",
        ),
        _param(
            "query_options",
            None,
            None,
            Check(_mapping, "a dict with string keys"),
            help="passed to the query provider",
        ),
        _param("start", None, None, _DATE, help="start of the window"),
        _param("end", None, None, _DATE, help="end of the window, inclusive"),
        # the generated demo company (command line `demo`, the notebook's demo source);
        # the bounds keep it within a few GB: about 32 events per user-day
        _param(
            "demo_users",
            DEFAULT_DEMO_USERS,
            Interval(Integral, 1, MAX_DEMO_USERS),
            help="human users of the demo company",
        ),
        _param(
            "demo_days",
            DEFAULT_DEMO_DAYS,
            Interval(Integral, 1, MAX_DEMO_DAYS),
            help="days of demo logs",
        ),
        _param(
            "demo_seed",
            DEFAULT_DEMO_SEED,
            Interval(Integral, 0, 2**32 - 1),
            help="seed of the demo data",
        ),
    )
}


def default(name: str) -> Any:
    """Return the default of parameter `name`."""
    return PARAMETERS[name].default


def check_time(value: Any, label: str) -> Any:
    """
    Return a date or time as a UTC pandas Timestamp in the accepted range.

    Parameters
    ----------
    value : str, datetime or Timestamp
        The time; naive times are UTC.
    label : str
        Name used in the message (e.g. ``"--end"`` or ``"timespan end"``).

    Raises
    ------
    ParameterError
        If `value` is not a date or time from `EARLIEST` to `LATEST`.

    """
    try:
        return _DATE.convert(value)
    except ValueError:
        message = f"{label} must be {_DATE.describe()}, got {short_repr(value)}."
        raise ParameterError(message) from None


def window_time(value: Any, label: str, *, end: bool = False) -> Any:
    """
    Parse one end of a hunting window given as text or a time.

    None or blank text is no bound (None). A bare end date
    (``2024-03-31``) means the last instant of that day, so the window
    includes it.

    Parameters
    ----------
    value : str, datetime, Timestamp or None
        The time; naive times are UTC.
    label : str
        Name used in the message (``"--start"``, ``"end"``).
    end : bool, default=False
        Whether `value` is the window's end.

    Returns
    -------
    pandas.Timestamp or None
        UTC-aware.

    Raises
    ------
    ParameterError
        If `value` is not a date or time from `EARLIEST` to `LATEST`.

    Examples
    --------
    >>> window_time("2024-03-31", "end", end=True)
    Timestamp('2024-03-31 23:59:59.999999999+0000', tz='UTC')

    """
    import pandas as pd

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    stamp = check_time(value, label)
    if end and isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", value):
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return stamp


def _closest(name: str) -> str:
    from difflib import get_close_matches

    match = get_close_matches(name, list(PARAMETERS), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_params(*, names: Iterable[str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """
    Validate parameters against `PARAMETERS` and return them normalized.

    Parameters
    ----------
    names : iterable of str, optional
        The parameters the caller takes (default: all of `PARAMETERS`);
        any other keyword is refused.
    **kwargs
        Parameter values. Missing ones are not filled in.

    Returns
    -------
    dict
        The same keys, values normalized (numpy integers become ``int``,
        ``allow_accounts`` a tuple, dates UTC Timestamps, ...).

    Raises
    ------
    ParameterError
        For the first parameter that is unknown or not allowed; the message
        names it, shows the value and says what is allowed.

    """
    known = set(PARAMETERS if names is None else names)
    checked = {}
    for name, value in kwargs.items():
        if name not in known or name not in PARAMETERS:
            raise ParameterError(
                f"Unknown parameter {name!r}{_closest(name)}; parameters are: "
                + ", ".join(sorted(known))
                + "."
            )
        checked[name] = PARAMETERS[name].check(value)
    return checked
