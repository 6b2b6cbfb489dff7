"""
The sentences that tell an analyst what a run found, dropped and held back.

The command line, the notebook and the notebooklet say these the same way;
the HTML report shows the same counts as tables. `summary_lines` is the
command line's closing summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..wording import counts_text
from .display import safe_text
from .status import listed, status_summary, statuses

__all__ = [
    "TOP_SHOWN",
    "dropped_line",
    "held_line",
    "incidents_line",
    "status_lines",
    "summary_lines",
]

#: Outliers listed by `summary_lines` (the rest are in outliers.csv).
TOP_SHOWN = 5


def dropped_line(result: Any) -> str | None:
    """
    Say how many input rows were dropped before scoring, and why (None if none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> dropped_line(SimpleNamespace(dropped_rows={"machine_account": 3, "no_time": 0}))
    'Dropped 3 input row(s) before scoring: machine account (name ends in $) 3.'

    """
    counts = result.dropped_rows or {}
    total = sum(int(n) for n in counts.values())
    if not total:
        return None
    return f"Dropped {total:,} input row(s) before scoring: {safe_text(counts_text(counts))}."


def held_line(result: Any) -> str | None:
    """
    Say how many user-days the model flagged but the run does not report (None if none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> held_line(SimpleNamespace(suppressed_outliers={"allow-listed account": 2}))
    'Flagged by the model but not reported: 2 user-day(s): allow-listed account 2.'

    """
    counts = result.suppressed_outliers or {}
    total = sum(int(n) for n in counts.values())
    if not total:
        return None
    text = safe_text(counts_text(counts))
    return f"Flagged by the model but not reported: {total:,} user-day(s): {text}."


def incidents_line(result: Any) -> str | None:
    """
    Say how many incidents the outliers make and the top one's lead (None if none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> leads = ["Password spray from 10.9.9.9 on 2024-03-21: 20 flagged", "bob on ..."]
    >>> incidents_line(SimpleNamespace(incidents=pd.DataFrame({"lead": leads})))
    '2 incident(s); first: Password spray from 10.9.9.9 on 2024-03-21: 20 flagged'

    """
    incidents = getattr(result, "incidents", None)
    if incidents is None or not len(incidents) or "lead" not in incidents.columns:
        return None
    return f"{len(incidents):,} incident(s); first: {safe_text(incidents['lead'].iloc[0], 160)}"


def status_lines(result: Any, only_new: bool = False) -> list[str]:
    """
    Say what the hunt's memory made of its outliers and incidents (nothing without one).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The finished hunt.
    only_new : bool, default=False
        The listing shows only the new ones: say so, and how many others.

    Returns
    -------
    list of str
        Empty for a hunt without a state store unless `only_new`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> found = SimpleNamespace(outliers=pd.DataFrame({"status": ["new", "seen"]}),
    ...                         state_path="hunt.sqlite")
    >>> status_lines(found, only_new=True)
    ['Status: 1 new, 0 recurring, 1 seen.', 'Listing only the new ones: 1 of 2 outlier(s).']

    """
    summary = status_summary(result)
    if summary.state_path is None and not only_new:
        return []
    lines = [f"Status: {summary.line()}."]
    if summary.incidents is not None and sum(summary.incidents.values()):
        lines[0] = f"Status: {summary.line()}; incidents {summary.line('incident')}."
    if only_new:
        total = sum(summary.outliers.values())
        line = f"Listing only the new ones: {summary.outliers['new']:,} of {total:,} outlier(s)"
        if summary.incidents is not None and sum(summary.incidents.values()):
            line += (
                f", {summary.incidents['new']:,} of {sum(summary.incidents.values()):,} incident(s)"
            )
        lines.append(line + ".")
    if summary.state_path is None:
        lines.append("No state store: every outlier counts as new.")
    return lines


def summary_lines(
    result: Any,
    paths: Mapping[str, Path],
    quiet: bool = False,
    extra: str = "",
    only_new: bool = False,
) -> list[str]:
    """
    Sum up a finished run for a terminal, every data value made safe to print.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The finished hunt.
    paths : mapping of str to Path
        The files written (`outputs.write_outputs`); ``report`` is required.
    quiet : bool, default=False
        One line (counts and the report's path) instead of the top
        `TOP_SHOWN` outliers, the incidents (with the first one's lead), the
        held and dropped counts, the notes and the files.
    extra : str, optional
        A sentence to add after the counts (the demo's label match).
    only_new : bool, default=False
        List only the new outliers and incidents (`status.listed`); the
        counts (`status_lines`) still count every one.

    Returns
    -------
    list of str

    """
    n_days = len(result.user_days)
    accounts = 0
    if n_days:
        accounts = len(result.user_days[["DstDomain", "DstUser"]].drop_duplicates())
    head = (
        f"{len(result.outliers):,} outlier(s) among {n_days:,} user-days of {accounts:,} "
        f"account(s) (feature set '{result.feature_set}')."
    )
    marks = status_lines(result, only_new)
    if quiet:
        report = f"Report: {safe_text(paths['report'])}"
        return [" ".join(filter(None, [head, extra, *marks, report]))]
    lines = [head, extra, *marks] if extra else [head, *marks]
    view = listed(result, only_new)
    outliers = view.outliers
    tags = [f"[{name}] " if marks else "" for name in statuses(outliers)]
    expl = result.explanations
    for rank, (idx, row) in enumerate(outliers.head(TOP_SHOWN).iterrows(), start=1):
        reason = expl.loc[idx, "reason"] if "reason" in expl.columns and idx in expl.index else ""
        account = safe_text(f"{row['DstDomain']}\\{row['DstUser']}", 40)
        lines.append(
            f"  {rank}. {tags[rank - 1]}{row['Date']:%Y-%m-%d}  {account}  "
            f"score {row['score']:.4f}  {safe_text(reason, 110)}"
        )
    if len(outliers) > TOP_SHOWN:
        lines.append(f"  ... and {len(outliers) - TOP_SHOWN:,} more in outliers.csv")
    held = (incidents_line(view), held_line(result), dropped_line(result))
    lines.extend(line for line in held if line)
    lines.extend(f"Note: {safe_text(note)}" for note in result.notes)
    names = ", ".join(safe_text(path.name) for path in paths.values())
    lines.append(f"Files in {safe_text(paths['report'].parent)}: {names}")
    return lines
