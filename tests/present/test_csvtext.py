"""The CSV files' fast writer writes the bytes pandas' ``to_csv`` writes."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from msticnb_iforest.present import csvfiles, csvtext

#: Text cells that quoting, formulas and missing values could trip up.
AWKWARD = ["=a", 'x"y', "", "a\r\nb", "\x00", "＝1", " -1", "é", "l\u2028m", '"', "+", None, np.nan]


def _by_pandas(frame: pd.DataFrame) -> str:
    """The CSV text as pandas writes it (the files' definition)."""
    out, header = csvfiles.csv_ready(frame)
    buffer = io.StringIO(newline="")
    out.to_csv(
        buffer, index=False, header=header, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"
    )
    return buffer.getvalue()


def _written(frame: pd.DataFrame) -> str:
    buffer = io.StringIO(newline="")
    csvfiles.write_csv(frame, buffer)
    return buffer.getvalue()


def _awkward_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    naive = pd.to_datetime(rng.integers(0, 2 * 10**18, n))
    days = pd.to_datetime(rng.integers(0, 30, n), unit="D")
    utc = [0, 1, 1000, 10**9, -1, 10**15 + 7, 1_700_000_000_123_000_000]
    return pd.DataFrame(
        {
            "=f": rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n),
            "counts": rng.integers(0, 50, n).astype(float),
            "f_nan": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
            "f_odd": rng.choice([0.0, -0.0, np.inf, -np.inf, np.nan, 1e16, 1e-7, 1.5e300], n),
            "f32": rng.random(n).astype("float32"),
            "i": rng.integers(-(10**18), 10**18, n),
            "u8": rng.integers(0, 255, n).astype("uint8"),
            "b": rng.random(n) < 0.5,
            "s": rng.choice(np.array(AWKWARD, dtype=object), n),
            "cat": pd.Categorical(rng.choice(["a", "=b", 'q"', "c"], n)),
            "cat_na": pd.Categorical(rng.choice(["a", None], n)),
            "string": pd.array(rng.choice(["x", "=y", None], n), dtype="string"),
            "arrow": pd.array(rng.choice(["x", "@y", None], n), dtype=pd.ArrowDtype(pa.string())),
            "utc": pd.to_datetime(rng.choice(utc, n), utc=True),
            "utc_nat": pd.to_datetime(np.where(rng.random(n) < 0.2, None, naive), utc=True),
            "berlin": naive.tz_localize("UTC").tz_convert("Europe/Berlin"),
            "naive": naive,
            # whole days in the first half, times in the second: pandas formats per block
            "half_days": pd.to_datetime(np.where(np.arange(n) < n // 2, days, naive)),
            "span": pd.to_timedelta(rng.integers(0, 10**12, n)),
            # a day: written as YYYY-MM-DD, before 1970 and missing ones too
            "Date": pd.to_datetime(np.where(rng.random(n) < 0.1, None, naive))
            - pd.Timedelta(days=9000),
        }
    )


@pytest.mark.parametrize("rows", [1, 7, 5_003, 40_001])
def test_fast_writer_writes_what_pandas_writes(rows):
    frame = _awkward_frame(rows)
    assert _written(frame) == _by_pandas(frame)
    assert _written(frame.iloc[:0]) == _by_pandas(frame.iloc[:0])
    for name in frame.columns:  # each type alone, beside a number
        pair = frame[[name, "i"]]
        assert _written(pair) == _by_pandas(pair), name


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([1, "a", None, ["=x"]] * 5, dtype=object),
        pd.Series(pd.array([1, None, 3, 4] * 5, dtype="Int64")),
        pd.Series(pd.Categorical([1, 2, None, 2] * 5)),
    ],
)
def test_other_types_are_left_to_pandas(values):
    frame = pd.DataFrame({"v": values, "n": range(len(values))})
    ready, header = csvfiles.csv_ready(frame)
    buffer = io.StringIO()
    assert not csvtext.write_rows(ready, header, buffer)
    assert buffer.getvalue() == ""  # declined before writing anything
    assert _written(frame) == _by_pandas(frame)
