"""
Write a hunt's results to a folder: CSV tables, an HTML report and run.json.

`write_outputs` accepts the `Hunt` returned by `pipeline.hunt` or the
notebooklet's result object, so the command line and a notebook produce the
same files.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import datetime as dt
import errno
import json
import math
import numbers
import os
import platform
import re
import secrets
import stat
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import VERSION

__all__ = [
    "FORMULA_STARTS",
    "OUTPUT_FILES",
    "OutputBusyError",
    "OutputError",
    "OutputFolder",
    "RunView",
    "csv_ready",
    "csv_safe_text",
    "jsonable",
    "outlier_table",
    "package_versions",
    "run_record",
    "view_of",
    "write_csv",
    "write_outputs",
]

#: Distributions whose versions go into run.json and the report.
VERSIONED = ["msticpy", "msticnb", "pandas", "numpy", "scikit-learn", "shap", "matplotlib"]

#: Columns that lead outliers.csv, in this order.
LEAD_COLUMNS = ["Date", "DstDomain", "DstUser", "score", "reason", "top_features", "evidence"]


@dataclass
class RunView:
    """
    The parts of a hunt result the writers need, under one set of names.

    Built by `view_of` from a `Hunt` or a notebooklet result.
    """

    user_days: pd.DataFrame
    outliers: pd.DataFrame
    explanations: pd.DataFrame
    features: list[str]
    feature_set: str
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    query: str | None = None
    has_shap: bool = False


def _first(obj: Any, *names: str, default: Any = None) -> Any:
    """Return the first attribute of `obj` among `names` that is not None."""
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def view_of(result: Any) -> RunView:
    """
    Read a `Hunt` or a notebooklet result into a `RunView`.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.

    Returns
    -------
    RunView

    """
    user_days = _first(result, "user_days", default=pd.DataFrame())
    outliers = _first(result, "outliers", default=user_days.iloc[0:0])
    explanations = _first(result, "explanations", default=pd.DataFrame())
    return RunView(
        user_days=user_days,
        outliers=outliers,
        explanations=explanations,
        features=list(_first(result, "features", default=[])),
        feature_set=str(_first(result, "feature_set", default="")),
        params=dict(_first(result, "params", "parameters", default={})),
        notes=[str(note) for note in _first(result, "notes", default=[])],
        dropped=dict(_first(result, "dropped", "dropped_rows", default={})),
        suppressed=dict(_first(result, "suppressed", "suppressed_outliers", default={})),
        timings=dict(_first(result, "timings", default={})),
        query=_first(result, "query"),
        has_shap=_first(result, "shap_values") is not None,
    )


def _join(value: Any) -> str:
    """Join a list of strings with '; ' (other values as text)."""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(str(item) for item in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def outlier_table(result: Any) -> pd.DataFrame:
    """
    Return the reported outliers with their reasons, ready to save.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.

    Returns
    -------
    pd.DataFrame
        Date, DstDomain, DstUser, score, reason, top_features and evidence
        (lists joined with "; "), then every other column of the outlier
        rows (input columns, features, context), highest score first.

    """
    view = result if isinstance(result, RunView) else view_of(result)
    outliers = view.outliers
    expl = view.explanations
    table = outliers.copy()
    for col in ("reason", "top_features", "evidence"):
        if col in expl.columns and len(expl):
            table[col] = expl[col].reindex(outliers.index).map(_join).fillna("")
        else:
            table[col] = ""
    lead = [col for col in LEAD_COLUMNS if col in table.columns]
    rest = [col for col in table.columns if col not in lead]
    return table[lead + rest].reset_index(drop=True)


def package_versions() -> dict[str, str]:
    """Return the versions of this package, its main dependencies and Python."""
    versions = {"msticnb-iforest": VERSION}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def jsonable(value: Any) -> Any:
    """
    Convert numpy, pandas and datetime values to plain JSON types, recursively.

    NaN and infinities become None; timestamps become ISO 8601 strings;
    anything else unknown becomes its string form.
    """
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Index | pd.Series):
        return [jsonable(item) for item in list(value)]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _span(user_days: pd.DataFrame) -> dict[str, str | None]:
    if user_days.empty or "Date" not in user_days.columns:
        return {"start": None, "end": None}
    dates = pd.to_datetime(user_days["Date"])
    return {"start": f"{dates.min():%Y-%m-%d}", "end": f"{dates.max():%Y-%m-%d}"}


def _counts(view: RunView) -> dict[str, int]:
    days = view.user_days
    accounts = 0
    if not days.empty and {"DstDomain", "DstUser"} <= set(days.columns):
        accounts = len(days[["DstDomain", "DstUser"]].drop_duplicates())
    flagged = int(days["is_outlier"].sum()) if "is_outlier" in days.columns else 0
    held = int((days["suppressed"] != "").sum()) if "suppressed" in days.columns else 0
    return {
        "user_days": len(days),
        "accounts": accounts,
        "outliers": len(view.outliers),
        "flagged_by_model": flagged + held,
        "suppressed": held,
    }


def run_record(result: Any, run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    Describe a run for run.json: parameters, versions, inputs, counts, timings.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    run_info : dict, optional
        What the caller knows beyond the result: ``inputs`` (list of
        {"path", "rows", "format"}), ``query`` (text), ``window``
        ({"start", "end"} requested), ``command``, ``plot_cap`` and any
        other JSON-friendly keys, which are kept under ``run_info``.

    Returns
    -------
    dict
        JSON-serializable.

    """
    view = result if isinstance(result, RunView) else view_of(result)
    info = dict(run_info or {})
    query = info.pop("query", None) or view.query
    record = {
        "tool": "msticnb-iforest",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": info.pop("command", None),
        "parameters": {**view.params, "feature_set": view.feature_set},
        "features": view.features,
        "versions": package_versions(),
        "inputs": info.pop("inputs", []),
        "window": info.pop("window", None),
        "data_span": _span(view.user_days),
        "query": query,
        "counts": _counts(view),
        "dropped": view.dropped,
        "suppressed": view.suppressed,
        "notes": view.notes,
        "plot_cap": info.pop("plot_cap", None),
        "plot_note": info.pop("plot_note", ""),
        "timings": view.timings,
        "run_info": info,
    }
    return jsonable(record)


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Formula characters also recognised after leading whitespace and in their
#: compatibility forms (full-width ``＝＋－＠``, small forms), which some
#: spreadsheets fold to the ASCII character.
_FORMULA_CHARS = frozenset("=+-@")

#: Quoting of the CSV files: every text cell (and the header) is quoted, so a
#: cell holding any line break (CR, LF, CRLF, U+2028, U+2029, VT, FF, NEL ...)
#: stays one cell for every reader that honours quotes; numbers are bare.
CSV_QUOTING = csv.QUOTE_NONNUMERIC

#: dtype kinds that never hold text: bool, integers, floats, complex, times.
_NOT_TEXT_KINDS = frozenset("biufcmM")


def _formula_mask(texts: pd.Series) -> np.ndarray:
    """Return which of `texts` (str or None) a spreadsheet could run as formulas."""
    first = texts.str[:1]
    lead = texts.str.lstrip().str[:1]
    folded = {ch: unicodedata.normalize("NFKC", ch)[:1] for ch in pd.unique(lead.dropna())}
    risky = first.isin(FORMULA_STARTS) | lead.map(folded).isin(_FORMULA_CHARS)
    return risky.to_numpy(dtype=bool)


def _cell_text(value: Any) -> str | None:
    """Return the text pandas writes for a cell value; None for numbers, times, NA."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(
        value, numbers.Number | dt.date | dt.time | dt.timedelta | np.datetime64 | np.timedelta64
    ):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _neutralized(uniques: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (risky mask, apostrophe-prefixed texts) for distinct cell values."""
    texts = pd.Series([_cell_text(value) for value in uniques], dtype=object)
    risky = _formula_mask(texts)
    return risky, ("'" + texts[risky]).to_numpy(dtype=object)


def csv_safe_text(values: pd.Series) -> pd.Series:
    """
    Neutralize text cells a spreadsheet would run as formulas.

    Account, domain and host names come from the logs, and an attacker
    chooses the account name of a failed logon. A text cell gets a leading
    apostrophe, which spreadsheets show as plain text, when it starts with
    one of :data:`FORMULA_STARTS`, or when its first character after
    leading whitespace is ``=``, ``+``, ``-`` or ``@`` or a compatibility
    form of one (full-width ``＝＋－＠``). Any dtype is handled (object,
    string, ArrowDtype string, category); the test runs once per distinct
    value. Numbers, times and missing values are unchanged, and so is the
    Series passed in: when no cell is risky it is returned as it is,
    otherwise a new object Series is returned. Only the CSV files are
    written this way: the result's DataFrames, run.json and the report keep
    the exact names.
    """
    if values.dtype.kind in _NOT_TEXT_KINDS:
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        risky, fixed = _neutralized(values.cat.categories)
        if not risky.any():
            return values
        codes = values.cat.codes.to_numpy()
        cells = values.cat.categories.to_numpy(dtype=object).copy()
        cells[risky] = fixed
        out = np.append(cells, None)[codes]  # code -1 (missing) takes the None
        return pd.Series(out, index=values.index, name=values.name, dtype=object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): pandas writes their str()
        codes, uniques = np.arange(len(values)), values.to_numpy(dtype=object)
    risky, fixed = _neutralized(uniques)
    if not risky.any():
        return values
    replacement = np.empty(len(uniques), dtype=object)
    replacement[risky] = fixed
    hit = codes >= 0
    hit[hit] = risky[codes[hit]]
    out = values.to_numpy(dtype=object, copy=True)
    out[hit] = replacement[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def csv_ready(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Any]]:
    """
    Return `frame` as the CSV files write it, and its header.

    A datetime ``Date`` column becomes ``YYYY-MM-DD`` text, text cells and
    column names are neutralized with `csv_safe_text`. `frame` is not
    modified; unchanged columns are shared with it, not copied.
    """
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if out.columns[position] == "Date" and column.dtype.kind == "M":
            out.isetitem(position, column.dt.strftime("%Y-%m-%d"))
            continue
        safe = csv_safe_text(column)
        if safe is not column:
            out.isetitem(position, safe)
    names = pd.Series([str(name) for name in frame.columns], dtype=object)
    return out, csv_safe_text(names).tolist()


def write_csv(frame: pd.DataFrame, handle: Any) -> None:
    r"""
    Write `frame` as the output CSV files are written.

    Formula cells neutralized (`csv_safe_text`), every text cell quoted
    (:data:`CSV_QUOTING`), no index, ``\\n`` line ends, UTF-8.

    Parameters
    ----------
    frame : pd.DataFrame
        The table; not modified.
    handle : path or text file
        Where to write (a file opened with ``newline=""``).

    """
    out, header = csv_ready(frame)
    out.to_csv(handle, index=False, header=header, quoting=CSV_QUOTING, lineterminator="\n")


# --------------------------------------------------------------------------
# Writing a set of files into --out all at once
# --------------------------------------------------------------------------
#: Every file a run may write into its output folder (labels.csv: the demo
#: only). They form one set: a run replaces all of them or none.
OUTPUT_FILES = ("outliers.csv", "user_days.csv", "report.html", "labels.csv", "run.json")

#: Written last: a folder whose run.json is missing is incomplete.
MARKER = "run.json"

#: Prefix of this package's own entries inside an output folder (used only
#: when the folder cannot be replaced as a whole).
_OWN = ".msticnb-iforest"

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


class OutputError(OSError):
    """An output folder cannot be written; the message names the file and folder."""


class OutputBusyError(OutputError):
    """Another run is writing the same output folder."""


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (best effort: not every platform can)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


_EXCHANGE: list[Any] = []


def _exchange(first: Path, second: Path) -> bool:
    """
    Swap two existing paths in one atomic step (Linux ``renameat2``).

    Returns False where the platform or filesystem cannot, so the caller
    falls back to two renames.
    """
    if not _EXCHANGE:
        func = None
        if sys.platform.startswith("linux"):
            try:
                func = ctypes.CDLL(None, use_errno=True).renameat2
                func.argtypes = [
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_uint,
                ]
                func.restype = ctypes.c_int
            except (AttributeError, OSError):
                func = None
        _EXCHANGE.append(func)
    func = _EXCHANGE[0]
    if func is None:
        return False
    done = func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _mount_point(path: Path) -> bool:
    """Return True if `path` is a mount point (also a bind mount of the same filesystem)."""
    if os.path.ismount(path):
        return True
    try:
        table = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return False
    want = str(path)
    for line in table.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            point = re.sub(r"\\([0-7]{3})", lambda code: chr(int(code.group(1), 8)), fields[4])
            if point == want:
                return True
    return False


def _is_ours(entry: os.DirEntry) -> bool:
    """Return True for an entry a run of this package writes into an output folder."""
    if entry.name == f"{_OWN}.lock":
        return True
    return entry.name in OUTPUT_FILES and entry.is_file(follow_symlinks=False)


def _dispose(folder: Path, keep_in: Path | None) -> None:
    """
    Remove a staging or replaced folder without losing anything but outputs.

    Output files are deleted; any other entry (a file someone dropped in
    while the folders were swapped) is moved into `keep_in` when that name
    is free there, else left. The folder is removed once empty.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if _is_ours(entry):
                os.unlink(entry.path)
            elif keep_in is not None and not os.path.lexists(keep_in / entry.name):
                os.rename(entry.path, keep_in / entry.name)
        except OSError:
            pass
    with contextlib.suppress(OSError):
        os.rmdir(folder)


class OutputFolder:
    """
    One run's output files, written aside and moved into the folder as a set.

    Use it as a context manager. On entry it takes a lock (a second run on
    the same folder fails at once with `OutputBusyError`), tidies what an
    earlier killed run left, and makes a staging folder beside the output
    folder, on the same filesystem. The ``write_*`` methods write into that
    staging folder (each file flushed to disk; an OSError names the file);
    ``run.json`` is held back and written last. `publish` then moves the
    complete set into place:

    - when the output folder is missing or holds nothing but this package's
      files, the staging folder replaces it in one atomic rename (an exchange
      on Linux), so a reader sees the previous complete set or the new one,
      never a mix;
    - when it holds other files or folders (they are kept, untouched), is a
      mount point, is the current folder, or its parent cannot be written,
      the files are moved in one by one: the old ``run.json`` is removed
      first and the new one moved in last, so the folder holds a ``run.json``
      only when its set is complete. Output files of the previous run that
      this run does not write (``labels.csv`` after a demo) are removed.

    Leaving the block without `publish` (an error, Ctrl-C) removes the
    staging folder and leaves the output folder exactly as it was. A run
    killed outright leaves a staging folder ``.<name>.tmp-<pid>-<hex>``
    without ``run.json``; the next run on that folder removes it.

    Parameters
    ----------
    out_dir : str or Path
        The output folder; created when published. Missing parent folders
        are created on entry and removed again if nothing is published.

    Raises
    ------
    ParameterError
        If `out_dir` is an empty or blank string.
    NotADirectoryError, PermissionError
        If `out_dir` is a file, or nothing can be written where it is.
    OutputBusyError
        If another run holds the folder.

    """

    def __init__(self, out_dir: str | Path):
        if isinstance(out_dir, str) and not out_dir.strip():
            from ..errors import ParameterError

            raise ParameterError(f"The output folder must be named, got {out_dir!r}.")
        self.path = Path(out_dir)
        self.target = Path(os.path.realpath(self.path))
        self.mode: str | None = None  # "replace" or "in place", once published
        self._files: dict[str, Path] = {}
        self._marker: str | None = None
        self._staging: Path | None = None
        self._beside = True
        self._lock: tuple[int, Path] | None = None
        self._made: list[Path] = []
        self._published = False

    # ---- entering and leaving ------------------------------------------------
    def __enter__(self) -> OutputFolder:
        self._check_path()
        target = self.target
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(f"{self.path}: exists and is not a folder.")
        root = target.parent == target
        parent = target.parent
        if not root:
            self._make_parents(parent)
        # Stage beside the folder when a rename can move it into place.
        self._beside = (
            not root
            and os.access(parent, os.W_OK | os.X_OK)
            and not (target.exists() and _mount_point(target))
        )
        if not self._beside and not (target.is_dir() and os.access(target, os.W_OK | os.X_OK)):
            self._remove_made()
            raise PermissionError(f"{self.path}: cannot write in it or in {parent}.")
        try:
            self._take_lock()
            self._tidy()
            self._staging = self._new_staging()
        except BaseException:
            self._release()
            self._remove_made()
            raise
        return self

    def _check_path(self) -> None:
        """Refuse a path that leads nowhere: a symbolic link loop or a dangling link."""
        try:
            os.stat(self.path)
        except FileNotFoundError:
            if os.path.islink(self.path):
                raise OutputError(
                    f"{self.path}: is a symbolic link to {os.readlink(self.path)}, which does "
                    "not exist; give the folder itself."
                ) from None
        except OSError as err:  # ELOOP, ENAMETOOLONG, ...
            raise OutputError(f"{self.path}: {err.strerror or err}.") from None

    def __exit__(self, *exc: Any) -> None:
        try:
            if not self._published and self._staging is not None:
                _dispose(self._staging, None)
        finally:
            self._release()
            self._remove_made()  # after the lock file beside the folder is gone

    def _make_parents(self, parent: Path) -> None:
        missing = []
        for folder in [parent, *parent.parents]:
            if folder.exists():
                break
            missing.append(folder)
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as err:
                self._remove_made()
                raise self._error(err, f"cannot create {folder}") from err
            self._made.append(folder)

    def _remove_made(self) -> None:
        """Remove the parent folders this run created, if still empty."""
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                break
        self._made = []

    def _lock_path(self) -> Path:
        if self._beside:
            return self.target.parent / f".{self.target.name}.lock"
        return self.target / f"{_OWN}.lock"

    def _take_lock(self) -> None:
        """Hold an exclusive, non-blocking lock on a file beside (or in) the folder."""
        path = self._lock_path()
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            except OSError as err:
                raise self._error(err, f"cannot create the lock file {path}") from err
            try:
                _lock_file(fd)
            except BlockingIOError:
                os.close(fd)
                raise OutputBusyError(
                    f"{self.path} is being written by another run (it holds {path}); "
                    "wait for it to finish or choose another output folder."
                ) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same or os.name == "nt":
                self._lock = (fd, path)
                return
            os.close(fd)  # the holder removed it as we opened it: take the new one

    def _release(self) -> None:
        if self._lock is None:
            return
        fd, path = self._lock
        self._lock = None
        with contextlib.suppress(OSError):
            os.unlink(path)  # while locked, so no other run holds this file
        os.close(fd)

    def _tidy(self) -> None:
        """Deal with what a killed run left: staging folders, a half-done swap."""
        try:
            self._tidy_folders()
        except OSError as err:
            what = f"cannot tidy what an earlier run left beside {self.path}"
            raise self._error(err, what) from err

    def _tidy_folders(self) -> None:
        target = self.target
        if self._beside:
            pattern = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-\d+-[0-9a-f]+")
            for entry in sorted(os.scandir(target.parent), key=lambda e: e.name):
                match = pattern.fullmatch(entry.name)
                if not match or not entry.is_dir(follow_symlinks=False):
                    continue
                if match.group(1) == "old" and not os.path.lexists(target):
                    os.rename(entry.path, target)  # killed between the two renames
                else:
                    _dispose(Path(entry.path), target if target.is_dir() else None)
        if target.is_dir():
            pattern = re.compile(rf"{re.escape(_OWN)}\.tmp-\d+-[0-9a-f]+")
            for entry in os.scandir(target):
                if pattern.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                    _dispose(Path(entry.path), None)

    def _sibling(self, kind: str) -> Path:
        tag = f"{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        if self._beside:
            return self.target.parent / f".{self.target.name}.{tag}"
        return self.target / f"{_OWN}.{tag}"

    def _new_staging(self) -> Path:
        staging = self._sibling("tmp")
        try:
            os.mkdir(staging)
            if self._beside and self.target.is_dir():
                held = os.stat(self.target)  # the new folder looks like the old one
                os.chmod(staging, stat.S_IMODE(held.st_mode))
                with contextlib.suppress(OSError):
                    os.chown(staging, held.st_uid, held.st_gid)
        except OSError as err:
            raise self._error(err, f"cannot create {staging}") from err
        return staging

    # ---- writing ---------------------------------------------------------------
    def file(self, name: str) -> Path:
        """Return where output file `name` will be once published."""
        return self.path / name

    def _error(self, err: OSError, what: str) -> OutputError:
        reason = err.strerror or str(err)
        failed = OutputError(f"{what}: {reason} (the files in {self.path} are unchanged)")
        failed.errno = err.errno
        return failed

    def _write(self, name: str, fill: Callable[[Any], None]) -> Path:
        if self._staging is None or self._published:
            raise RuntimeError("OutputFolder is written inside its with-block, before publish.")
        staged = self._staging / name
        try:
            with open(staged, "w", encoding="utf-8", newline="") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise self._error(err, f"cannot write {self.file(name)}") from err
        self._files[name] = staged
        return self.file(name)

    def write_text(self, name: str, text: str) -> Path:
        """
        Write a text file of the set (UTF-8); return its final path.

        ``run.json`` is kept and written last, by `publish`.
        """
        if name == MARKER:
            self._marker = text
            return self.file(name)
        return self._write(name, lambda handle: handle.write(text))

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        """Write a table of the set as the output CSVs are (see `write_csv`)."""
        return self._write(name, lambda handle: write_csv(frame, handle))

    # ---- publishing -------------------------------------------------------------
    def _replaceable(self) -> bool:
        """Return True when the whole folder can be swapped for the staging one."""
        target = self.target
        if not self._beside:
            return False
        if not target.exists():
            return True
        try:
            if os.path.samefile(target, os.getcwd()):
                return False  # a shell in it would be left in a deleted folder
        except OSError:
            pass
        try:
            with os.scandir(target) as entries:
                return all(_is_ours(entry) for entry in entries)
        except OSError:
            return False

    def publish(self) -> dict[str, Path]:
        """
        Write ``run.json`` and move the set into the output folder.

        Returns
        -------
        dict of str to Path
            Final path of each file written, by file name.

        Raises
        ------
        OutputError
            If the set cannot be written or moved; the output folder is
            then as it was (see the class notes for a folder that holds
            other files).

        """
        if self._staging is None or self._published:
            raise RuntimeError("OutputFolder.publish is called once, inside its with-block.")
        if self._marker is not None:
            marker = self._marker
            self._write(MARKER, lambda handle: handle.write(marker))
        staging = self._staging
        _fsync_dir(staging)
        if self._replaceable():
            self.mode = "replace"
            try:
                self._swap(staging, self.target)
            except OSError as err:
                raise self._error(err, f"cannot move the new files into {self.path}") from err
        else:
            self.mode = "in place"
            try:
                self._move_in(staging, self.target)
            except OSError as err:
                failed = OutputError(
                    f"cannot move the new files into {self.path}: {err.strerror or err} "
                    f"({self.path} has no {MARKER}: its files are not one complete set)"
                )
                failed.errno = err.errno
                raise failed from err
        self._published = True
        self._made = []
        return {name: self.file(name) for name in self._files}

    def _swap(self, staging: Path, target: Path) -> None:
        """Put the staging folder in the place of `target` (missing or holding a set)."""
        if not os.path.lexists(target):
            os.rename(staging, target)
        elif _exchange(staging, target):
            _dispose(staging, target)  # the previous set is where staging was
        else:
            old = self._sibling("old")
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except BaseException:  # including Ctrl-C: put the previous set back
                os.rename(old, target)
                raise
            _dispose(old, target)
        _fsync_dir(target.parent)

    def _move_in(self, staging: Path, target: Path) -> None:
        """Move the staged files into `target` one by one, run.json removed first, put last."""
        old_marker = target / MARKER
        if os.path.lexists(old_marker):
            os.unlink(old_marker)
            _fsync_dir(target)
        for name in OUTPUT_FILES:
            stale = target / name
            if name not in self._files and os.path.isfile(stale) and not os.path.islink(stale):
                os.unlink(stale)
        for name in self._files:
            if name != MARKER:
                os.replace(staging / name, target / name)
        _fsync_dir(target)
        if MARKER in self._files:
            os.replace(staging / MARKER, target / MARKER)
            _fsync_dir(target)
        os.rmdir(staging)


def _lock_file(fd: int) -> None:
    """Take an exclusive lock on an open file without waiting (BlockingIOError if held)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as err:
            raise BlockingIOError(str(err)) from err
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def write_outputs(
    result: Any,
    out_dir: str | Path | OutputFolder,
    *,
    figures: dict[str, Any] | None = None,
    run_info: dict[str, Any] | None = None,
    started: float | None = None,
) -> dict[str, Path]:
    """
    Write outliers.csv, user_days.csv, report.html and run.json to a folder.

    The files are written aside and moved into the folder as one set
    (`OutputFolder`): a failed or interrupted call leaves the folder as it
    was, and run.json, written last, marks a complete set.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    out_dir : str, Path or OutputFolder
        Folder to write into; created if missing. The output files of a
        previous run there are replaced as a set; other files are kept. An
        open `OutputFolder` receives the files and publishes them when its
        owner calls `OutputFolder.publish` (to add files to the set).
    figures : dict, optional
        Figures as returned by `pipeline.make_plots` (keys
        ``shap_summary_plot``, ``outlier_plots``, ``trend_plots``,
        ``score_histogram``, ``plot_cap``). When None, a notebooklet
        result's own figures are used, and for a `Hunt` the default plots
        (with the score histogram) are drawn. Pass ``{}`` for a report
        without plots.
    run_info : dict, optional
        Extra facts for run.json and the report (see `run_record`), e.g.
        ``{"inputs": [...], "query": "...", "title": "..."}``.
    started : float, optional
        ``time.perf_counter()`` when the run began. run.json's ``timings``
        always include ``write_tables`` (the CSV files) and ``report``
        (encoding the figures and writing report.html); with `started`
        they also include ``total``, the run's wall time up to run.json.

    Returns
    -------
    dict of str to Path
        ``outliers``, ``user_days``, ``report`` and ``run`` paths (where the
        files are once published).

    Raises
    ------
    OSError
        If the folder cannot be created or written (`OutputError`, naming
        the file), or another run is writing it (`OutputBusyError`).
    ParameterError
        If `out_dir` is an empty or blank string.

    """
    if not isinstance(out_dir, OutputFolder):
        with OutputFolder(out_dir) as folder:
            paths = write_outputs(
                result, folder, figures=figures, run_info=run_info, started=started
            )
            folder.publish()
        return paths

    from .report import render_report  # matplotlib/base64 work only when writing

    folder = out_dir
    view = view_of(result)
    info = dict(run_info or {})
    if figures is None:
        if info.get("plot_cap") is None and not hasattr(result, "outlier_plots"):
            from ..pipeline import DEFAULT_MAX_PLOTS

            info["plot_cap"] = DEFAULT_MAX_PLOTS
        figures = _figures_of(result, info.get("plot_cap"))
    if figures.get("plot_cap") and not info.get("plot_note"):
        info["plot_note"] = figures["plot_cap"]
    cap = getattr(result, "plot_cap", None)
    if info.get("plot_cap") is None and isinstance(cap, int):
        info["plot_cap"] = cap
    begin = time.perf_counter()
    paths = {
        "outliers": folder.write_csv("outliers.csv", outlier_table(view)),
        "user_days": folder.write_csv("user_days.csv", view.user_days),
    }
    written = {"write_tables": round(time.perf_counter() - begin, 4)}
    title = info.pop("title", None)
    record = run_record(view, info)
    begin = time.perf_counter()
    html = render_report(view, record, figures=figures, title=title)
    paths["report"] = folder.write_text("report.html", html)
    written["report"] = round(time.perf_counter() - begin, 4)
    if started is not None:
        written["total"] = round(time.perf_counter() - started, 4)
    record["timings"] = {**record.get("timings", {}), **written}
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    paths["run"] = folder.write_text(MARKER, text)  # written last, by publish
    return paths


def _figures_of(result: Any, max_plots: int | None) -> dict[str, Any]:
    """Take a notebooklet result's figures, or draw a Hunt's default plots."""
    if hasattr(result, "outlier_plots"):
        return {
            "shap_summary_plot": getattr(result, "shap_summary_plot", None),
            "outlier_plots": list(getattr(result, "outlier_plots", None) or []),
            "trend_plots": list(getattr(result, "trend_plots", None) or []),
            "score_histogram": getattr(result, "score_histogram", None),
            "plot_cap": getattr(result, "plot_note", "") or "",
        }
    from ..pipeline import DEFAULT_MAX_PLOTS, make_plots

    cap = DEFAULT_MAX_PLOTS if max_plots is None else int(max_plots)
    return make_plots(result, histogram=True, max_plots=cap)
