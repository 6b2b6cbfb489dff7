"""The default ('baseline') feature set: its maths by hand on tiny frames, options, fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.features import DEFAULT_FEATURE_SET, get_feature_set
from msticnb_iforest.features.baseline import DISPERSION_FLOOR, NOVELTY_PRIOR, BaselineFeatures
from msticnb_iforest.features.habits import HabitsFeatures
from msticnb_iforest.features.history import loo_quantiles, poisson_surprise
from msticnb_iforest.pipeline import ALLOW_LISTED, hunt

from .tables import DAYS, account_day_table


def _account(user: str, column: str, values: list[float], **extra) -> list[dict]:
    return [
        {"Date": DAYS[i], "DstUser": user, column: value, **extra} for i, value in enumerate(values)
    ]


def _expected_deviation(values: list[float], row: int) -> float:
    """The feature by hand: robust z of log1p counts against the other days, damped."""
    logs = np.log1p(np.asarray(values, dtype=float))
    others = np.delete(logs, row)
    q25, q50, q75 = np.quantile(others, [0.25, 0.5, 0.75])
    scale = max((q75 - q25) / 1.349, DISPERSION_FLOOR)
    return float(np.log1p(max(0.0, (logs[row] - q50) / scale)))


def test_habits_is_the_default():
    assert DEFAULT_FEATURE_SET == "habits"
    assert isinstance(get_feature_set(None), HabitsFeatures)
    assert isinstance(get_feature_set(None), BaselineFeatures)  # it extends the baseline set
    assert get_feature_set("seed").name == "seed"
    assert get_feature_set(None).query_name == "account_day_summary"
    assert get_feature_set("seed").query_name == "user_day_summary"


def test_loo_quantiles_match_numpy_without_the_element():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 7, 300)
    values = rng.poisson(3, 300).astype(float) + rng.random(300)
    probs = (0.0, 0.1, 0.25, 0.5, 0.9, 1.0)
    found, others = loo_quantiles(group, values, probs)
    for i in range(300):
        rest = values[(group == group[i]) & (np.arange(300) != i)]
        assert others[i] == len(rest)
        if len(rest):
            expect = np.quantile(rest, probs)
            assert np.allclose([f[i] for f in found], expect), i
        else:
            assert all(np.isnan(f[i]) for f in found)


def test_loo_quantiles_with_ties_singletons_and_unused_codes():
    rng = np.random.default_rng(1)
    group = rng.choice([0, 2, 3, 5, 9], 200, p=[0.4, 0.005, 0.3, 0.29, 0.005])
    group[:2] = [2, 9]  # codes 2 and 9 are singletons, 1, 4, 6-8 unused
    group[2:][np.isin(group[2:], [2, 9])] = 0
    values = rng.integers(0, 3, 200).astype(float)  # many ties
    probs = (0.1, 0.5, 0.75)
    order = rng.permutation(200)
    found, others = loo_quantiles(group[order], values[order], probs)
    for pos, i in enumerate(order):
        rest = values[(group == group[i]) & (np.arange(200) != i)]
        assert others[pos] == len(rest)
        if len(rest):
            assert np.allclose([f[pos] for f in found], np.quantile(rest, probs))
        else:
            assert all(np.isnan(f[pos]) for f in found)


def test_leave_one_out_baseline_excludes_the_scored_day():
    failures = [0, 1, 0, 0, 2, 0, 0, 300]
    table = account_day_table(_account("alice", "FailedLogons", failures))
    frame = BaselineFeatures().compute(table)
    dev = frame.values["failed_vs_usual"].to_numpy()
    assert dev[7] == pytest.approx(_expected_deviation(failures, 7))
    # The spike does not hide itself: its baseline (other days) is 0-2 failures.
    assert dev[7] == pytest.approx(np.log1p(np.log1p(300) / DISPERSION_FLOOR))
    # ... and it does not inflate the baseline of the other days either.
    assert dev[4] == pytest.approx(_expected_deviation(failures, 4))
    assert frame.values["failed_logons"].iloc[7] == pytest.approx(np.log1p(300))
    assert frame.context["baseline_days"].tolist() == [7] * 8
    assert frame.context["FailedLogons_usual_high"].iloc[7] <= 2


def test_dispersion_floor_keeps_steady_accounts_calm():
    logons = [1000, 1001, 1000, 999, 1000, 1001, 1000, 1100]
    table = account_day_table(_account("svc-steady", "SuccessfulLogons", logons))
    dev = BaselineFeatures().compute(table).values["successes_vs_usual"].to_numpy()
    expected = np.log1p((np.log1p(1100) - np.log1p(1000)) / DISPERSION_FLOOR)
    assert dev[7] == pytest.approx(expected)
    assert dev[7] < 0.2  # without the floor the spread (~0.001) would make this ~4.5


def test_novelty_is_a_poisson_surprise_against_the_account_own_rate():
    rows = _account("bob", "NovelSrcHost", [0, 0, 0, 0, 0, 0, 0, 3])
    rows += _account("roamer", "NovelSrcHost", [1, 2, 1, 1, 2, 1, 1, 3])
    table = account_day_table(rows)
    values = BaselineFeatures().compute(table).values["new_source_hosts"].to_numpy()

    def expected(others_total: float, count: int) -> float:
        rate = (others_total + NOVELTY_PRIOR[0]) / (7 + NOVELTY_PRIOR[1])
        return float(np.log1p(-poisson.logsf(count - 1, rate)))

    assert values[7] == pytest.approx(expected(0, 3))
    assert values[15] == pytest.approx(expected(9, 3))
    assert values[7] > 2 * values[15]  # three new hosts mean more for a steady account
    assert values[0] == 0.0
    # The underflow branch stays finite and monotone for thousands of new values.
    surprise = poisson_surprise(np.array([10, 1000, 5000]), np.array([0.01, 0.01, 0.01]))
    assert np.all(np.isfinite(surprise)) and np.all(np.diff(surprise) > 0)


def test_spray_feature_subtracts_the_source_usual_count():
    rows = [
        {"Date": DAYS[0], "DstUser": "a", "SrcIpFailedAccounts": 40, "FailedLogons": 1},
        {"Date": DAYS[0], "DstUser": "b", "SrcIpFailedAccounts": 7, "FailedLogons": 1}
        | {"SrcIpFailedAccountsUsual": 6.0},
        {"Date": DAYS[0], "DstUser": "c", "SrcIpFailedAccounts": 1, "FailedLogons": 1},
    ]
    spray = BaselineFeatures().compute(account_day_table(rows)).values["spray_accounts"].to_numpy()
    assert spray == pytest.approx([np.log1p(39), 0.0, 0.0])


def test_failure_only_days_are_kept_and_reported():
    rows = []
    for user in [f"user{i}" for i in range(30)]:
        rows += _account(user, "FailedLogons", [0] * 8)
    rows += [
        {"Date": DAYS[7], "DstUser": "dormant", "SuccessfulLogons": 0, "FailedLogons": 60}
        | {"NovelSrcIp": 1, "NovelSrcHost": 1, "SrcIpFailedAccounts": 1}
    ]
    result = hunt(account_day_table(rows), shap=False)
    assert (result.user_days["suppressed"] == "").all()
    assert "dormant" in set(result.outliers["DstUser"])
    assert result.suppressed == {}


def test_allow_accounts_are_scored_but_counted_not_reported():
    rows = []
    for user in [f"user{i}" for i in range(30)]:
        rows += _account(user, "FailedLogons", [0] * 8)
    rows += _account("svc-backup", "FailedLogons", [0] * 7 + [400])
    rows += _account("carol", "FailedLogons", [0] * 7 + [350])
    table = account_day_table(rows)
    plain = hunt(table, shap=False)
    assert {"svc-backup", "carol"} <= set(plain.outliers["DstUser"])
    allowed = hunt(table, shap=False, allow_accounts=["CONTOSO\\svc-*"])
    assert "svc-backup" not in set(allowed.outliers["DstUser"])
    assert "carol" in set(allowed.outliers["DstUser"])
    assert allowed.suppressed == {ALLOW_LISTED: 1}
    flagged = allowed.user_days[allowed.user_days["suppressed"] != ""]
    assert list(flagged["DstUser"]) == ["svc-backup"]
    # Scores are untouched: allow-listing changes reporting, not the model.
    pd.testing.assert_series_equal(plain.user_days["score"], allowed.user_days["score"])
    assert allowed.params["allow_accounts"] == ["CONTOSO\\svc-*"]
    by_upn = hunt(table, shap=False, allow_accounts="svc-backup@contoso.com")
    assert by_upn.suppressed == {ALLOW_LISTED: 1}
    with pytest.raises(ParameterError, match="allow_accounts"):
        hunt(table, allow_accounts=[""])


def test_min_history_caveat_and_no_history():
    rows = _account("veteran", "FailedLogons", [0, 0, 0, 0, 0, 0, 0, 90])
    rows += _account("newbie", "FailedLogons", [0, 0, 90])
    rows += [{"Date": DAYS[5], "DstUser": "ghost", "FailedLogons": 90, "NovelSrcIp": 1}]
    table = account_day_table(rows)
    fset = BaselineFeatures()
    frame = fset.compute(table)
    dev = frame.values["failed_vs_usual"].to_numpy()
    assert dev[7] > 0
    assert dev[10] == 0.0 and dev[11] == 0.0  # 2 other days < 5
    user_days = pd.concat([table, frame.values, frame.context], axis=1)
    newbie = fset.reason(user_days.iloc[10], ["failed_logons"])
    assert "90 failed logons" in newbie
    assert "Baseline: 2 days, too little data to judge (fewer than 5 other days)" in newbie
    ghost = fset.reason(user_days.iloc[11], ["new_source_ips"])
    assert "Baseline: none" in ghost and "no other day in the window" in ghost
    assert fset.reason(user_days.iloc[7], ["failed_logons"]).endswith("Baseline: 7 days")
    # A smaller minimum compares the newcomer with its two days.
    lenient = BaselineFeatures(min_history_days=2).compute(table)
    assert lenient.values["failed_vs_usual"].iloc[10] > 0
    result = hunt(table, shap=False, min_history_days=2)
    assert result.params["min_history_days"] == 2
    seed = hunt(table, feature_set="seed", shap=False, min_history_days=2)
    assert any("min_history_days does not apply" in note for note in seed.notes)
    with pytest.raises(ParameterError, match="min_history_days"):
        hunt(table, min_history_days=-1)


def test_explanation_words_and_baseline_size():
    rows = _account("dave", "FailedLogons", [0, 1, 0, 0, 1, 0, 0, 31])
    rows[-1] |= {"NovelSrcHost": 3, "SrcIpFailedAccounts": 25, "FailedSrcIp": "203.0.113.9"}
    fset = BaselineFeatures()
    table = account_day_table(rows)
    frame = fset.compute(table)
    row = pd.concat([table, frame.values, frame.context], axis=1).iloc[7]
    text = fset.reason(row, ["failed_logons", "failed_vs_usual", "new_source_hosts"])
    assert "31 failed logons (usually 0–1 a day)" in text
    assert "3 source hosts new to this account (usually 0 new a day)" in text
    assert "203.0.113.9 failed against 25 accounts that day" in text  # always told
    assert text.count("failed logons") == 1  # magnitude and deviation said once
    assert text.endswith("Baseline: 7 days")


def test_host_burst_is_named_in_the_explanation():
    rows = _account("erin", "NovelSrcHost", [0] * 7 + [2000])
    rows[-1] |= {"SrcIpHosts": 2000, "HostsSrcIp": "10.99.1.2", "DistinctSrcHostName": 2000}
    fset = BaselineFeatures()
    table = account_day_table(rows)
    frame = fset.compute(table)
    row = pd.concat([table, frame.values, frame.context], axis=1).iloc[7]
    text = fset.reason(row, ["new_source_hosts"])
    assert "2,000 distinct workstation names from one address (10.99.1.2)" in text
    assert "not thousands of real hosts" in text


def test_table_only_input_uses_what_it_has_and_says_what_is_missing(demo_table):
    result = hunt(demo_table, shap=False)
    assert result.feature_set == "habits"
    assert result.features == [
        "failed_logons",
        "successes_vs_usual",
        "computers_vs_usual",
        "sources_vs_usual",
        "dormant_days",
        "failed_vs_usual",  # kept without FailedSrcIpDays, after the others
    ]
    note = " ".join(result.notes)
    for missing in ("NovelSrcIp", "NovelSrcHost", "NovelComputer", "SrcIpFailedAccounts"):
        assert missing in note
    for missing in ("SuccessHours", "NtlmLogons", "NovelSrcNet", "FailedSrcIpDays"):
        assert missing in note
    for feature in ("new_source_ips", "new_computers", "spray_accounts", "off_hours"):
        assert feature in note
    top = result.user_days.sort_values("score", ascending=False).head(5)
    picked = {(u, f"{d:%Y-%m-%d}") for u, d in zip(top["DstUser"], top["Date"], strict=True)}
    assert ("SVC-ACC-02", "2022-09-25") in picked
    assert ("SRVACC-04", "2022-09-16") in picked
    # Only the seed's required columns: deviations fall back to the success columns.
    slim = demo_table.drop(columns=["ComputersAccessed", "DistinctSrcIp", "DistinctSrcHostName"])
    slim_result = hunt(slim, shap=False)
    assert "computers_vs_usual uses ComputersSuccessfulAccess" in " ".join(slim_result.notes)


def test_duplicate_keys_share_one_day_of_history():
    rows = _account("frank", "FailedLogons", [0] * 8)
    rows.append({"Date": DAYS[3], "DstUser": "frank", "FailedLogons": 0})
    frame = BaselineFeatures().compute(account_day_table(rows))
    assert frame.context["baseline_days"].tolist() == [7] * 9
