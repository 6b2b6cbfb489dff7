"""
Write a self-test's files: ``selftest.csv``, ``selftest.png`` and ``selftest.html``.

Each file is written to a temporary file in the same folder, flushed, and
moved into place with ``os.replace``, so a killed run never leaves a
complete-looking file. The real hunt's output files are never touched.
"""

from __future__ import annotations

import base64
import io
import os
from html import escape
from pathlib import Path

import pandas as pd

from ..present.csvfiles import write_csv
from ..present.folder import write_file_atomically
from .run import SelfTest, self_test_figure

__all__ = ["SELFTEST_FILES", "self_test_html", "write_self_test"]

#: The files `write_self_test` writes.
SELFTEST_FILES = ("selftest.csv", "selftest.png", "selftest.html")


def _png(result: SelfTest) -> bytes:
    buffer = io.BytesIO()
    self_test_figure(result.table).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def self_test_html(result: SelfTest, png: bytes | None = None) -> str:
    """
    Return a self-contained HTML page (or section) of a self-test.

    Examples
    --------
    >>> page = self_test_html(found)  # doctest: +SKIP

    """
    table = result.table.drop(columns=["threshold"]).to_html(index=False, na_rep="", escape=True)
    summary = result.summary.to_html(index=False, na_rep="", escape=True)
    notes = "".join(f"<li>{escape(str(note))}</li>" for note in result.notes)
    image = ""
    if png:
        data = base64.b64encode(png).decode("ascii")
        image = f'<img alt="rank per kind and intensity" src="data:image/png;base64,{data}">'
    options = escape(", ".join(f"{k}={v!r}" for k, v in result.parameters.items()))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Self-test</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "font-size:small}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        '<section id="self-test"><h1>Self-test: would the hunt catch an attack in this data?</h1>'
        "<p>Synthetic attacks were planted in a copy of the events, on the data's own accounts, "
        "servers and addresses, and the copy was hunted with the same options. "
        "<b>caught</b>: reported as an outlier; <b>rank</b>: where the attack's most anomalous "
        "account-day stands among every account-day of the hunted days (1 is the most "
        "anomalous); <b>threshold_rank</b>: how many account-days the hunt flags. The real "
        f"results hold none of these rows.</p><p>Options: {options}</p>"
        f"<h2>Per kind</h2>{summary}{image}<h2>Per planted attack</h2>{table}"
        f"<h2>Notes</h2><ul>{notes or '<li>none</li>'}</ul></section></body></html>"
    )


def write_self_test(result: SelfTest, folder: str | os.PathLike) -> dict[str, Path]:
    """
    Write ``selftest.csv``, ``selftest.png`` and ``selftest.html`` into `folder`.

    Parameters
    ----------
    result : SelfTest
        What `self_test` returned.
    folder : str or os.PathLike
        Created if missing; other files in it are left alone.

    Returns
    -------
    dict of str to Path
        Each file's path, by name.

    Examples
    --------
    >>> write_self_test(found, "out/selftest")  # doctest: +SKIP

    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    table = result.table.copy()
    table["day"] = pd.to_datetime(table["day"]).dt.strftime("%Y-%m-%d")
    png = _png(result)
    text = io.StringIO(newline="")
    write_csv(table, text)
    contents = {
        "selftest.csv": text.getvalue().encode("utf-8"),
        "selftest.png": png,
        "selftest.html": self_test_html(result, png).encode("utf-8"),
    }
    paths = {}
    for name, data in contents.items():
        write_file_atomically(target / name, data)
        paths[name] = target / name
    return paths
