"""
An output folder that holds a complete set of files, or the previous set.

`OutputFolder` writes a run's files aside and moves them in as one set, under
a lock, so a killed or failed run never leaves files that look complete and
two runs never interleave. run.json (`MARKER`) is written last.
`write_file_atomically` does the same for one file on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .csvfiles import write_csv

#: Every file a run may write into its output folder (labels.csv: the demo
#: only). They form one set: a run replaces all of them or none.
OUTPUT_FILES = (
    "outliers.csv",
    "incidents.csv",
    "user_days.csv",
    "report.html",
    "labels.csv",
    "run.json",
)

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


def write_file_atomically(path: Path, data: bytes) -> None:
    """
    Write one file whole or not at all: a temporary file in its folder, synced, then renamed.

    For a file on its own (a set of files that belong together goes through
    `OutputFolder`). The file gets the permissions of an ordinary new file.

    Examples
    --------
    >>> write_file_atomically(Path("state.json"), b"{}")  # doctest: +SKIP

    """
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)  # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
