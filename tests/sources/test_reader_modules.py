"""The readers package: one reader per format, one dispatch, old module names kept."""

from __future__ import annotations

import importlib

import pytest

from msticnb_iforest.schema import EVENT_COLUMNS, EVTX_COLUMNS
from msticnb_iforest.sources import readers
from msticnb_iforest.sources.readers import SUPPORTED_SUFFIXES, dispatch


def test_every_supported_suffix_has_one_reader():
    kinds = {suffix.removesuffix(".gz").lstrip(".") for suffix in SUPPORTED_SUFFIXES}
    assert kinds - {"evtx"} == set(dispatch._READERS)
    # .evtx is read whole (never gzipped): its frame is not an Arrow table
    assert [s for s in SUPPORTED_SUFFIXES if "evtx" in s] == [".evtx"]


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("a.CSV", ".csv"),
        ("a.tsv.GZ", ".tsv.gz"),
        ("a.json.gz", ".json.gz"),
        ("a.ndjson", ".ndjson"),
        ("a.pq", ".pq"),
        ("Security.EVTX", ".evtx"),
        ("a.csv.bak", None),
        ("a.gz", None),
    ],
)
def test_the_longest_supported_ending_picks_the_reader(tmp_path, name, suffix):
    assert dispatch._suffix(tmp_path / name) == suffix


def test_the_package_keeps_its_public_names():
    for name in readers.__all__:
        assert getattr(readers, name) is not None
    assert readers.read_tables is dispatch.read_tables
    assert readers.parse_size("1K") == 1024


@pytest.mark.parametrize(
    "old", ["msticnb_iforest.sources.evtx", "msticnb_iforest.evtx", "msticnb_iforest.readers"]
)
def test_old_module_names_are_the_moved_modules(old):
    new = "msticnb_iforest.sources.readers" + (".evtx" if old.endswith("evtx") else "")
    assert importlib.import_module(old) is importlib.import_module(new)


def test_evtx_rows_have_the_event_columns_a_record_carries():
    assert EVTX_COLUMNS[:-2] == [name for name in EVENT_COLUMNS if name != "AccountDomain"]
    assert EVTX_COLUMNS[-2:] == ["TargetUserSid", "IpPort"]
