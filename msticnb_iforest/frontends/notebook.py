"""
Helpers for the hunting notebook ``notebooks/AnomalousLogonUsers.ipynb``.

The notebook keeps its cells short; the work they need lives here, where it
is tested: opening the data source named by the notebook's ``data_source``
parameter (the seeded demo, a LocalData folder of exported files, or a
Microsoft Sentinel workspace from msticpyconfig.yaml), resolving the hunt
window, the local drill-down into an outlier's raw events, and writing the
same output files as the command line. What the notebook shows of a result
(summary lines, notes, incidents, tables, figures) is in
`msticnb_iforest.frontends.notebook_views` and offered here under the same
names.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from msticpy.common.timespan import TimeSpan

from ..errors import ParameterError, QueryError
from ..params import (
    DEFAULT_DEMO_DAYS,
    DEFAULT_DEMO_SEED,
    DEFAULT_DEMO_USERS,
    check_params,
)
from ..schema import utc
from ..sources.demo import generate_demo, match_labels
from ..sources.local import LOCAL_FILE_STEMS, find_local_files
from .notebook_views import (
    FIGURE_DPI,
    incident_table,
    outlier_overview,
    readable_table,
    run_remarks,
    show_figures,
    show_incidents,
    show_notes,
    show_table,
)
from .notebook_views import _png as _png  # a figure as PNG bytes, for the notebook's own cells
from .timespans import hunt_window

__all__ = [
    "DEMO",
    "DataSource",
    "DataSourceError",
    "account_events",
    "configured_workspaces",
    "demo_match",
    "FIGURE_DPI",
    "hunt_window",
    "incident_table",
    "open_data_source",
    "outlier_overview",
    "progress_printer",
    "run_remarks",
    "show_figures",
    "show_incidents",
    "show_notes",
    "readable_table",
    "show_table",
    "write_notebook_outputs",
]

#: The `data_source` value that selects the generated demo company.
DEMO = "demo"

_WHAT_TO_SET = (
    "Set data_source to a workspace name from msticpyconfig.yaml, to a LocalData folder "
    f"of exported logon events, or to {DEMO!r}."
)


class DataSourceError(QueryError):
    """The notebook's data source cannot be opened; the message says why and what to do."""


@dataclass
class DataSource:
    """
    An opened data source, ready for the notebooklet.

    Attributes
    ----------
    kind : str
        ``"demo"``, ``"local"`` or ``"sentinel"``.
    label : str
        What was opened, for messages.
    timespan : TimeSpan
        The window to hunt.
    folder : Path, optional
        The LocalData folder (for the demo, a temporary one holding the
        generated events).
    workspace : str, optional
        The Sentinel workspace name.
    demo : DemoData, optional
        The generated demo (events and labels).
    query_provider : QueryProvider
        The provider msticnb was initialised with.
    settings : dict
        How the demo was generated (users, days, seed); empty otherwise.

    """

    kind: str
    label: str
    timespan: TimeSpan
    folder: Path | None = None
    workspace: str | None = None
    demo: Any = None
    query_provider: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    _tmp: Any = field(default=None, repr=False)

    @property
    def is_sentinel(self) -> bool:
        """Return True when queries go to a Sentinel workspace."""
        return self.kind == "sentinel"

    def describe(self) -> str:
        """Return one line naming the source and the window."""
        start, end = _window_text(self.timespan)
        return f"Data source: {self.label}. Hunting window: {start} to {end} (UTC)."


def _window_text(timespan: TimeSpan) -> tuple[str, str]:
    def _text(value: Any) -> str:
        return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")

    return _text(timespan.start), _text(timespan.end)


def configured_workspaces() -> dict[str, Any]:
    """Return the Sentinel workspaces of the loaded msticpyconfig.yaml, by name."""
    from msticpy.common.pkg_config import get_config

    settings = get_config("AzureSentinel", {}) or {}
    workspaces = settings.get("Workspaces") if hasattr(settings, "get") else None
    return dict(workspaces or {})


def _not_configured(name: str, workspaces: dict[str, Any]) -> str:
    """Say why workspace `name` cannot be used: which config was read and what it lists."""
    from msticpy.common.pkg_config import current_config_path

    path = current_config_path()
    if not path:
        where = "no msticpyconfig.yaml was found (set MSTICPYCONFIG or copy one here)"
    elif workspaces:
        where = f"{path} lists these workspaces: {', '.join(sorted(workspaces))}"
    else:
        where = f"{path} lists no workspaces under AzureSentinel"
    return f"Sentinel workspace {name!r} is not configured: {where}. {_WHAT_TO_SET}"


def _looks_like_path(text: str) -> bool:
    return any(sep in text for sep in ("/", "\\")) or text.startswith((".", "~"))


def _local_files(folder: Path) -> list[Path]:
    found: list[Path] = []  # the same file search the LocalData queries use
    for stem in LOCAL_FILE_STEMS.values():
        found.extend(find_local_files([folder], stem))
    return found


def _init_msticnb(query_provider: Any = None, **kwargs: Any) -> Any:
    """
    Initialise msticnb (registering the notebooklet) and return the query provider.

    msticnb's default providers are kept: ``nb.init`` creates every notebooklet
    for its pivots, and some of them (IpAddressSummary) refuse to be created
    without a geo-IP provider. Neither default provider needs a config file or
    the network to be created. A failure is reported as one `DataSourceError`.
    """
    import msticnb as nb
    from msticnb.common import MsticnbError

    from .registration import register

    with warnings.catch_warnings():
        # msticnb warns about its own notebooklets whose optional packages are missing
        warnings.filterwarnings("ignore", message="Import failed for", category=UserWarning)
        try:
            if query_provider is not None:
                nb.init(query_provider=query_provider, **kwargs)
            else:
                nb.init("LocalData", **kwargs)
        except MsticnbError as err:
            detail = " ".join(" ".join(str(part) for part in err.args).split())
            raise DataSourceError(
                f"msticnb could not be initialised: {type(err).__name__}: {detail}"
            ) from None
    register()
    provider = nb.DataProviders.current().query_provider
    if provider is None:
        raise DataSourceError("msticnb was initialised without a query provider.")
    return provider


def _open_demo(timespan_args: tuple, users: int, days: int, seed: int, demo_end: Any) -> DataSource:
    demo = generate_demo(n_users=users, n_days=days, seed=seed, end=demo_end)
    timespan = hunt_window(*timespan_args, demo=demo)
    tmp = tempfile.TemporaryDirectory(prefix="msticnb_iforest_demo_")
    folder = Path(tmp.name)
    demo.events.to_parquet(folder / f"{LOCAL_FILE_STEMS['network_logon_events']}.parquet")
    provider = _init_msticnb(LocalData_data_paths=[str(folder)])
    return DataSource(
        kind="demo",
        label=(
            f"generated demo company ({users} users, {days} days, seed {seed}; "
            f"{len(demo.events):,} logon events, {len(demo.labels)} labelled attack user-days)"
        ),
        timespan=timespan,
        folder=folder,
        demo=demo,
        query_provider=provider,
        settings={"users": users, "days": days, "seed": seed},
        _tmp=tmp,
    )


def _open_local(folder: Path, timespan_args: tuple) -> DataSource:
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataSourceError(f"LocalData folder {str(folder)!r} {what}. {_WHAT_TO_SET}")
    timespan = hunt_window(*timespan_args)
    files = _local_files(folder)
    if not files:
        names = " or ".join(f"{stem}.csv" for stem in LOCAL_FILE_STEMS.values())
        raise DataSourceError(
            f"LocalData folder {str(folder)!r} holds no AnomalousLogons data: expected {names} "
            "(or .csv.gz, .parquet, .jsonl; split exports as <name>_<part>.<ext>)."
        )
    provider = _init_msticnb(LocalData_data_paths=[str(folder)])
    return DataSource(
        kind="local",
        label=f"LocalData folder {folder} ({len(files)} file(s))",
        timespan=timespan,
        folder=folder,
        query_provider=provider,
    )


def _open_sentinel(name: str, timespan_args: tuple) -> DataSource:
    timespan = hunt_window(*timespan_args)
    workspaces = configured_workspaces()
    matches = [key for key in workspaces if key.casefold() == name.casefold()]
    if not matches:
        raise DataSourceError(_not_configured(name, workspaces))
    from msticpy.data import QueryProvider

    provider = QueryProvider("MSSentinel")
    try:
        provider.connect(workspace=matches[0])
    except Exception as err:  # msticpy and Azure raise many types; report them as one
        detail = " ".join(str(part) for part in getattr(err, "args", ())[:2]) or str(err)
        raise DataSourceError(
            f"Could not connect to Sentinel workspace {matches[0]!r}: {type(err).__name__}: "
            f"{' '.join(detail.split())}"
        ) from None
    if not provider.connected:
        raise DataSourceError(f"Could not connect to Sentinel workspace {matches[0]!r}.")
    _init_msticnb(provider)
    return DataSource(
        kind="sentinel",
        label=f"Microsoft Sentinel workspace {matches[0]!r}",
        timespan=timespan,
        workspace=matches[0],
        query_provider=provider,
    )


def open_data_source(
    data_source: str | Path,
    *,
    start: Any = None,
    end: Any = None,
    demo_users: int = DEFAULT_DEMO_USERS,
    demo_days: int = DEFAULT_DEMO_DAYS,
    demo_seed: int = DEFAULT_DEMO_SEED,
    demo_end: Any = None,
    days: int | None = None,
) -> DataSource:
    """
    Open the notebook's data source and initialise msticnb for it.

    Parameters
    ----------
    data_source : str or Path
        ``"demo"`` generates the seeded demo company and serves its raw
        events from a temporary LocalData folder; an existing folder (or a
        text with a path separator) is a LocalData folder holding
        ``anomalous_logons_events.*`` or ``anomalous_logons_user_days.*``;
        any other text is a Sentinel workspace name from msticpyconfig.yaml
        (case-insensitive), which is connected.
    start, end : str or datetime, optional
        The hunting window (see `hunt_window`).
    demo_users, demo_days, demo_seed, demo_end
        Size, seed and last day of the demo (see `generate_demo`).
    days : int, optional
        Days in the window when `start` is not given (a scheduled hunt's
        ``hunt_days + baseline_days``); None: `DEFAULT_DAYS`.

    Returns
    -------
    DataSource

    Raises
    ------
    DataSourceError
        If the folder or workspace cannot be used; the message says what
        was wrong and what to set. Nothing is connected by then.
    ParameterError
        If `start`/`end` or the demo size are not valid.

    """
    window = (start, end, days)
    try:
        if isinstance(data_source, Path):
            return _open_local(data_source.expanduser(), window)
        if not isinstance(data_source, str) or not data_source.strip():
            raise DataSourceError(
                f"data_source is empty or not text: {data_source!r}. {_WHAT_TO_SET}"
            )
        text = data_source.strip()
        if text.casefold() == DEMO:
            size = check_params(demo_users=demo_users, demo_days=demo_days, demo_seed=demo_seed)
            return _open_demo(
                window, size["demo_users"], size["demo_days"], size["demo_seed"], demo_end
            )
        path = Path(text).expanduser()
        if path.is_dir() or _looks_like_path(text):
            return _open_local(path, window)
        return _open_sentinel(text, window)
    except (DataSourceError, ParameterError) as err:
        # Raised afresh here so a notebook shows the message under one short
        # traceback (the cell and this line), not the helpers it came from.
        raise type(err)(str(err)) from None


def _raw_events(source: DataSource) -> pd.DataFrame | None:
    """Return the source's raw logon events, or None if it has only a per-user-day table."""
    if source.demo is not None:
        return source.demo.events
    if source.folder is None:
        return None
    from ..sources.readers import read_tables

    files = find_local_files([source.folder], LOCAL_FILE_STEMS["network_logon_events"])
    if not files:
        return None
    events, _ = read_tables(files)
    return events


def progress_printer() -> Callable[[str], None] | None:
    """
    Return a `progress` for the notebooklet's run that prints each stage with the time.

    The notebook runs the notebooklet silently (its own cells show the
    result), so stage messages (files read, events summarized, scoring)
    are printed by this instead, one line each on standard error (where
    progress goes in a notebook, apart from the cell's results). None when
    msticnb's ``silent`` option is set: ``nb.set_opt("silent", True)``
    silences it.

    Examples
    --------
    >>> show = progress_printer()  # doctest: +SKIP
    >>> show("Scoring 1,000 user-days")  # doctest: +SKIP
    [   0.0s] Scoring 1,000 user-days

    """
    from msticnb.options import get_opt

    if get_opt("silent"):
        return None
    started = time.perf_counter()

    def show(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return show


def account_events(
    source: DataSource, row: pd.Series | dict
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """
    Return an outlier's raw network logons and failed logons on its flagged day.

    The local counterpart of the notebooklet's ``logons()`` and
    ``failed_logons()`` pivots: the events the day's summary counted (the
    ``network_logon_events`` filters), of exactly that DstDomain and DstUser,
    during the flagged UTC day.

    Parameters
    ----------
    source : DataSource
        A demo or LocalData source.
    row : pd.Series or dict
        An outlier row with Date, DstDomain and DstUser.

    Returns
    -------
    tuple of (pd.DataFrame, pd.DataFrame) or None
        Successful (4624) and failed (4625) events sorted by time; None when
        the source has no raw events (only a per-user-day table).

    """
    from ..summarize.user_days import filter_network_logons

    events = _raw_events(source)
    if events is None:
        return None
    day = pd.Timestamp(row["Date"]).normalize()
    day = utc(day)
    kept, _ = filter_network_logons(
        events, start=day, end=day + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    )
    mine = kept[
        (kept["TargetUserName"] == str(row["DstUser"]))
        & (kept["TargetDomainName"] == str(row["DstDomain"]))
    ].sort_values("TimeGenerated", kind="stable")
    ok = mine["EventID"] == 4624
    return mine[ok].reset_index(drop=True), mine[~ok].reset_index(drop=True)


def demo_match(result: Any, source: DataSource) -> dict[str, Any] | None:
    """
    Count the demo's labelled attack user-days among the reported outliers.

    Returns
    -------
    dict or None
        ``labelled_user_days``, ``labelled_in_outliers``, ``outliers`` and
        ``by_attack`` ({kind: {"labelled", "found"}}), as the demo command
        records them; None when the source is not the demo.

    """
    if source.demo is None or result.outliers is None:
        return None
    return match_labels(result.outliers, source.demo.labels)


def write_notebook_outputs(
    result: Any,
    source: DataSource,
    output_dir: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    only_new: bool = False,
) -> dict[str, Path]:
    """
    Write the command line's output files for a notebook run.

    Writes outliers.csv, incidents.csv, user_days.csv, report.html and run.json with
    `outputs.write_outputs`, and for the demo also labels.csv and the
    label match in run.json, as ``msticnb-iforest demo`` does. The files
    are moved into the folder as one set (`outputs.OutputFolder`).

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished run (its own figures go into the report).
    source : DataSource
        The source it ran on.
    output_dir : str or Path
        Folder to write into; created if missing.
    parameters : dict, optional
        The notebook's parameters, recorded in run.json.
    only_new : bool, default=False
        List only the new outliers and incidents in the tables and the
        report (`outputs.write_outputs`); the counts still count every one.

    Returns
    -------
    dict of str to Path
        Paths of the files written, by kind.

    """
    from ..present.outputs import write_outputs

    start, end = (pd.Timestamp(t) for t in (source.timespan.start, source.timespan.end))
    info: dict[str, Any] = {
        "command": "notebook AnomalousLogonUsers.ipynb",
        "window": {"start": start, "end": end},
        "inputs": list(result.input_files or []),
        "notebook": dict(parameters or {}),
        "data_source": source.kind,
    }
    if source.workspace:
        info["workspace"] = source.workspace
    if source.demo is not None:
        events = source.demo.events
        info["title"] = "Anomalous logon users: demo data"
        info["inputs"] = [{"path": "generated demo events", "rows": len(events), "format": "demo"}]
        info["demo"] = {**source.settings, **(demo_match(result, source) or {})}
    labels = None if source.demo is None else source.demo.labels
    return write_outputs(result, output_dir, run_info=info, labels=labels, only_new=only_new)
