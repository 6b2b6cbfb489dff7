"""Planting attacks into a copy of the user's own events (`selftest.plant`)."""

from __future__ import annotations

import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.selftest.kinds import KINDS
from msticnb_iforest.selftest.plant import MARK_COLUMNS, plant_attacks
from msticnb_iforest.selftest.run import load_events
from msticnb_iforest.sources.demo import generate_demo

from ..conftest import DEMO_CSV, REAL_EVENTS_CSV


@pytest.fixture(scope="module")
def demo_events() -> pd.DataFrame:
    return generate_demo(n_users=80, n_days=14, seed=3).events


@pytest.fixture(scope="module")
def planted(demo_events):
    return plant_attacks(demo_events, random_state=5)


@pytest.fixture(scope="module")
def real_events() -> pd.DataFrame:
    return load_events(REAL_EVENTS_CSV)


def test_input_is_never_modified(demo_events):
    before = demo_events.copy(deep=True)
    plant_attacks(demo_events, random_state=1)
    pd.testing.assert_frame_equal(demo_events, before)
    assert not set(MARK_COLUMNS) & set(demo_events.columns)


def test_every_planted_row_is_marked(demo_events, planted):
    events = planted.events
    n = len(demo_events)
    assert len(events) == n + int(planted.attacks["n_events"].sum())
    assert not events["Planted"].iloc[:n].any() and events["Planted"].iloc[n:].all()
    assert (events["PlantedId"].iloc[:n] == 0).all() and (
        events["PlantedKind"].iloc[:n] == ""
    ).all()
    rows = events[events["Planted"]]
    assert rows["PlantedKind"].isin(KINDS).all()
    assert rows["PlantedIntensity"].isin(["low", "medium", "high"]).all()
    counts = rows.groupby("PlantedId").size()
    assert counts.to_dict() == planted.attacks.set_index("id")["n_events"].to_dict()
    # the input's own rows come back unchanged, in order
    pd.testing.assert_frame_equal(
        events.iloc[:n][list(demo_events.columns)], demo_events, check_dtype=True
    )
    assert (rows["LogonTypeName"] == "3 - Network").all() and rows["EventID"].isin(
        [4624, 4625]
    ).all()


def test_planted_rows_use_the_datas_own_names(demo_events, planted):
    rows = planted.events[planted.events["Planted"]]
    accounts = set(zip(demo_events["TargetDomainName"], demo_events["TargetUserName"], strict=True))
    assert set(zip(rows["TargetDomainName"], rows["TargetUserName"], strict=True)) <= accounts
    assert set(rows["Computer"]) <= set(demo_events["Computer"])
    # the careful kinds come from the data's own workstations
    careful = rows[rows["PlantedKind"].isin(["lateral_valid", "pass_the_hash", "off_hours"])]
    assert len(careful) and set(careful["WorkstationName"]) <= set(demo_events["WorkstationName"])


def test_each_attack_has_its_own_victim(planted):
    victims = [tuple(a[0]) for a in planted.attacks["accounts"]]
    assert len(victims) == len(set(victims))
    single = planted.attacks[~planted.attacks["kind"].str.endswith("spray")]
    touched = [key for accounts in single["accounts"] for key in accounts]
    assert len(touched) == len(set(touched))


def test_every_kind_is_planted_on_the_demo(demo_events):
    for kind in KINDS:
        found = plant_attacks(demo_events, kinds=[kind], intensities=["high"], random_state=2)
        assert found.attacks["kind"].tolist() == [kind], found.notes
        assert found.notes == []


def test_same_seed_same_rows_other_seed_other_victims(demo_events, planted):
    again = plant_attacks(demo_events, random_state=5)
    pd.testing.assert_frame_equal(again.events, planted.events)
    other = plant_attacks(demo_events, random_state=6)
    assert other.attacks["account"].tolist() != planted.attacks["account"].tolist()


def test_attacks_fall_on_the_last_days(demo_events, planted):
    last = pd.Timestamp(demo_events["TimeGenerated"].max()).tz_convert(None).normalize()
    assert (planted.attacks["day"] == last).all()
    spread = plant_attacks(demo_events, kinds=["brute_force"], last_days=3, random_state=4)
    assert spread.attacks["day"].between(last - pd.Timedelta(days=2), last).all()


def test_each_kind_on_the_real_rows_is_planted_or_says_why(real_events):
    skipped = {}
    for kind in KINDS:
        found = plant_attacks(real_events, kinds=[kind], intensities=["high"])
        rows = found.events[found.events["Planted"]]
        if len(found.attacks):
            assert len(rows) == found.attacks["n_events"].sum()
            own = set(real_events["TargetUserName"])
            assert set(rows["TargetUserName"]) <= own
        else:
            assert len(found.notes) == 1 and kind in found.notes[0]
            skipped[kind] = found.skipped["reason"].iloc[0]
    # the real rows hold three accounts with network logons, NTLM only
    assert "Kerberos" in skipped["lateral_valid"]
    assert "password_spray" in skipped and "brute_force" not in skipped


def test_real_rows_keep_their_value_types(real_events):
    found = plant_attacks(real_events, kinds=["brute_force"], intensities=["high"])
    assert found.events["EventID"].dtype == real_events["EventID"].dtype
    assert str(found.events["TimeGenerated"].dtype) == str(real_events["TimeGenerated"].dtype)


def test_summary_table_gives_a_clear_error(demo_table):
    with pytest.raises(InputDataError, match="raw logon events"):
        plant_attacks(demo_table)
    with pytest.raises(InputDataError, match="raw logon events"):
        load_events(DEMO_CSV)


def test_unknown_kind_or_intensity(demo_events):
    with pytest.raises(ParameterError, match="kinds"):
        plant_attacks(demo_events, kinds=["teleport"])
    with pytest.raises(ParameterError, match="intensities"):
        plant_attacks(demo_events, intensities=["extreme"])


def test_planted_events_cannot_be_planted_again(planted):
    with pytest.raises(InputDataError, match="already hold planted rows"):
        plant_attacks(planted.events)
