"""The ``habits`` feature set: each habit input on hand-made account-days, and its words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.features import get_feature_set
from msticnb_iforest.features.baseline import BASELINE_FEATURES
from msticnb_iforest.features.habits import (
    CROWD_SHARE,
    HABIT_FEATURES,
    LEFT_OUT,
    HabitsFeatures,
    quiet_gaps,
)
from msticnb_iforest.features.habits_reasons import hours_text
from msticnb_iforest.present.measures import bar_labels
from tests.features.tables import account_day_table

DAYS = pd.date_range("2024-03-01", periods=12, freq="D")
OFFICE = sum(1 << h for h in range(8, 18))

HABIT_COLUMNS = {
    "SuccessHours": OFFICE,
    "NtlmLogons": 0,
    "KerberosLogons": 10,
    "NovelSrcNet": 0,
    "NovelSrcHostOthers": 0,
    "FailedSrcIpDays": 0,
}


def _days(user: str, n: int = 12, **columns: list) -> list[dict]:
    """One account's rows on the first `n` days; a column given as a list varies by day."""
    rows = []
    for i in range(n):
        row = {"Date": DAYS[i], "DstUser": user, **HABIT_COLUMNS}
        row.update({name: values[i] for name, values in columns.items()})
        rows.append(row)
    return rows


def _compute(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    table = account_day_table(rows)
    frame = HabitsFeatures().compute(table)
    return table, frame.values.join(frame.context), frame.notes


def _at(result: pd.DataFrame, table: pd.DataFrame, user: str, day: int) -> pd.Series:
    hit = (table["DstUser"] == user) & (table["Date"] == DAYS[day])
    return result[hit.to_numpy()].iloc[0]


def test_the_set_is_registered_and_keeps_the_baseline_inputs_but_one_first():
    assert isinstance(get_feature_set("habits"), HabitsFeatures)
    kept = [name for name in BASELINE_FEATURES if name not in LEFT_OUT]
    assert LEFT_OUT == ("failed_vs_usual",)
    assert HABIT_FEATURES[: len(kept)] == kept
    _, result, notes = _compute(_days("alice") + _days("bob"))
    assert [c for c in result.columns if c in HABIT_FEATURES] == HABIT_FEATURES
    assert not any("lacks" in note for note in notes)


def test_a_day_workers_night_logon_scores_and_a_night_workers_does_not():
    night = sum(1 << h for h in (22, 23, 0, 1, 2, 3, 4, 5))
    rows = _days("day", SuccessHours=[OFFICE] * 11 + [1 << 3])
    rows += _days("night", SuccessHours=[night] * 11 + [1 << 3])
    table, result, _ = _compute(rows)
    worker, shift = _at(result, table, "day", 11), _at(result, table, "night", 11)
    assert worker["odd_hour"] == 3 and worker["odd_hour_days"] == 0
    assert worker["off_hours"] == pytest.approx(np.log1p(-np.log(0.5 / 12)))
    assert shift["off_hours"] < 0.1 < worker["off_hours"]
    # An ordinary office day is not unusual for the day worker.
    assert _at(result, table, "day", 5)["off_hours"] < 0.2
    # Hours next to usual ones count as usual (07:00 next to 08:00).
    rows = _days("day", SuccessHours=[OFFICE] * 11 + [1 << 7])
    table, result, _ = _compute(rows)
    assert _at(result, table, "day", 11)["off_hours"] < 0.2


def test_ntlm_scores_for_a_kerberos_account_not_for_an_ntlm_one():
    rows = _days("kerb", NtlmLogons=[0] * 11 + [3])
    rows += _days("ntlm", NtlmLogons=[5] * 12, KerberosLogons=[0] * 12)
    table, result, _ = _compute(rows)
    kerb, ntlm = _at(result, table, "kerb", 11), _at(result, table, "ntlm", 11)
    # 3 NTLM logons next to the day's 10 Kerberos ones: scaled by their share.
    assert kerb["ntlm_unusual"] == pytest.approx(np.log1p(-np.log(0.5 / 12)) * 3 / 13)
    assert ntlm["ntlm_unusual"] < 0.1
    assert _at(result, table, "kerb", 3)["ntlm_unusual"] == 0.0


def test_a_stray_ntlm_logon_among_kerberos_ones_scores_by_its_share():
    rows = _days("all", NtlmLogons=[0] * 11 + [3], KerberosLogons=[10] * 11 + [0])
    rows += _days("stray", NtlmLogons=[0] * 11 + [1], KerberosLogons=[10] * 11 + [9])
    table, result, _ = _compute(rows)
    full = _at(result, table, "all", 11)["ntlm_unusual"]
    assert full == pytest.approx(np.log1p(-np.log(0.5 / 12)))
    assert _at(result, table, "stray", 11)["ntlm_unusual"] == pytest.approx(full / 10)


def test_a_failing_source_that_comes_back_scores_unless_the_account_always_has_one():
    rows = _days(
        "victim", FailedSrcIpDays=[0] * 7 + [4] * 4 + [0], FailedLogons=[0] * 7 + [12] * 4 + [0]
    )
    rows += _days("scanned", FailedSrcIpDays=[12] * 12, FailedLogons=[30] * 12)
    table, result, _ = _compute(rows)
    first = _at(result, table, "victim", 7)
    assert first["failing_days"] == pytest.approx(np.log1p(3) * (1 - 3 / 11))
    assert _at(result, table, "scanned", 7)["failing_days"] == 0.0


def test_a_long_quiet_spell_scores_and_a_first_day_does_not():
    rows = [r for r in _days("dormant") if r["Date"] in (DAYS[0], DAYS[1], DAYS[11])]
    rows += _days("busy")
    table, result, _ = _compute(rows)
    revived = _at(result, table, "dormant", 11)
    assert revived["quiet_days"] == 10
    assert revived["dormant_days"] == pytest.approx(np.log1p(10 - 7))
    assert _at(result, table, "dormant", 0)["dormant_days"] == 0.0
    assert result.loc[(table["DstUser"] == "busy").to_numpy(), "dormant_days"].eq(0).all()
    gap, usual = quiet_gaps(np.array([0, 0, 1]), np.array([5, 9, 2]))
    assert gap.tolist() == [0, 4, 0] and usual.tolist() == [7.0, 7.0, 7.0]


def test_failures_are_weighed_once_and_still_told_against_the_usual():
    failures = [0] * 11 + [40]
    table, result, _ = _compute(_days("user0", FailedLogons=failures) + _days("user1"))
    assert "failed_vs_usual" not in result.columns
    burst = _at(result, table, "user0", 11)
    assert burst["failed_logons"] == pytest.approx(np.log1p(40))
    row = pd.concat([table[(table["DstUser"] == "user0").to_numpy()].iloc[11], burst])
    clauses = HabitsFeatures().clauses(row, ["failed_logons"])
    assert clauses[0]["text"] == "40 failed logons (usually 0 a day)"


def test_missing_habit_columns_are_named_and_the_rest_computed():
    table = account_day_table(_days("a")).drop(columns=["SuccessHours", "NtlmLogons"])
    frame = HabitsFeatures().compute(table)
    result, notes = frame.values, frame.notes
    assert "off_hours" not in result and "ntlm_unusual" not in result
    assert "failing_days" in result and "dormant_days" in result
    assert any("off_hours (SuccessHours)" in n and "ntlm_unusual (NtlmLogons)" in n for n in notes)


def test_the_callers_table_is_not_changed():
    table = account_day_table(_days("a") + _days("b", NtlmLogons=[0] * 11 + [2]))
    before = table.copy()
    HabitsFeatures().compute(table)
    pd.testing.assert_frame_equal(table, before)


def test_reasons_speak_in_each_habits_terms():
    fset = HabitsFeatures()
    row = pd.Series(
        {
            "baseline_days": 11,
            "off_hours": 3.0,
            "odd_hour": 3,
            "odd_hour_days": 0,
            "logon_days": 11,
            "hour_days": 11,
            "usual_hours": OFFICE,
            "ntlm_unusual": 2.0,
            "NtlmLogons": 3,
            "KerberosLogons": 0,
            "ntlm_days": 0,
            "NovelSrcHostOthers": 1,
            "others_workstation": 0.7,
            "FailedSrcIpDays": 4,
            "failing_other_days": 3,
            "failing_days": 1.0,
            "quiet_days": 20,
            "usual_gap": 7,
            "dormant_days": 2.6,
        }
    )
    features = ["off_hours", "ntlm_unusual", "others_workstation", "failing_days", "dormant_days"]
    texts = [c["text"] for c in fset.clauses(row, features)]
    assert texts == [
        "successful logons at 03:00–03:59 UTC, an hour it logged on in (or next to) on 0 of "
        "its 11 other days with logons (its usual hours: 08–17 UTC)",
        "3 NTLM logons (NTLM on 0 of its 11 other days with logons)",
        "1 source host new to this account that is another account's usual workstation",
        "one address failed for this account without a success on 4 days of the window "
        "(other days with such an address: 3)",
        "first logon after 20 days without one (its gaps are usually at most 7 days)",
    ]
    assert fset.reason(row, ["dormant_days"]).endswith("Baseline: 11 days")
    assert hours_text((1 << 23) | 1 | 2) == "23–01 UTC"


def test_a_failure_burst_shared_by_many_accounts_weighs_less_than_one_alone():
    failures = [0] * 11 + [40]
    crowd = [row for i in range(12) for row in _days(f"user{i}", FailedLogons=failures)]
    alone = _days("user0", FailedLogons=failures)
    alone += [row for i in range(1, 12) for row in _days(f"user{i}")]
    few = [row for i in range(3) for row in _days(f"user{i}", FailedLogons=failures)]
    few += [row for i in range(3, 12) for row in _days(f"user{i}")]

    def last_day(rows: list[dict]) -> pd.Series:
        table, result, _ = _compute(rows)
        return _at(result, table, "user0", 11)

    shared, single = last_day(crowd), last_day(alone)
    pair = last_day(few)  # two other accounts are no crowd
    assert shared["failed_crowd"] == 1.0 and shared["failed_logons"] == 0.0
    assert single["failed_crowd"] == 0.0 and single["failed_logons"] == pytest.approx(np.log1p(40))
    assert pair["failed_crowd"] == 0.0 and pair["failed_logons"] == pytest.approx(np.log1p(40))
    assert CROWD_SHARE == 0.1


def test_every_habit_input_is_labelled_in_real_units_on_charts():
    rows = _days("kerb", NtlmLogons=[0] * 11 + [3], SuccessHours=[OFFICE] * 11 + [1 << 3])
    table, result, _ = _compute(rows + _days("other"))
    row = pd.concat([table, result], axis=1)[(table["DstUser"] == "kerb").to_numpy()].iloc[-1]
    labels = bar_labels(row, HABIT_FEATURES)
    assert not any(" = " in text for text in labels.values())
    assert labels["ntlm_unusual"] == "NTLM logons: 3"
    assert labels["off_hours"] == "least usual logon hour (UTC): 3"


def test_hour_profile_blocks_do_not_change_it(monkeypatch):
    # Blocks of whole accounts (one account larger than a block too) give the same floats.
    from msticnb_iforest.features import habits

    rng = np.random.default_rng(11)
    account = rng.integers(0, 30, 2_000)
    account[:300] = 3  # one account with more days than a block
    masks = rng.integers(0, 1 << 24, 2_000) & rng.integers(0, 1 << 24, 2_000)
    masks[rng.random(2_000) < 0.2] = 0
    whole = habits.hour_surprise(account, masks)
    monkeypatch.setattr(habits, "_HOUR_BLOCK", 64)
    blocked = habits.hour_surprise(account, masks)
    for one, other in zip(whole, blocked, strict=True):
        assert one.dtype == other.dtype and np.array_equal(one, other)
