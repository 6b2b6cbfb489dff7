"""Reasons as clauses: their order, what is left out, one number style, the baseline's health."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.features.baseline import BaselineFeatures
from msticnb_iforest.features.clauses import within_usual
from msticnb_iforest.features.seed import SeedFeatures
from msticnb_iforest.pipeline import hunt

from .tables import DAYS, account_day_table

KEYS = {"feature", "label", "value", "usual_low", "usual_high", "text"}


def _days(user: str, last: dict, **columns: list[float]) -> list[dict]:
    """Eight days of one account: per-day values of `columns`, `last` added to the last day."""
    rows = [{"Date": day, "DstUser": user} for day in DAYS]
    for column, values in columns.items():
        for row, value in zip(rows, values, strict=True):
            row[column] = value
    rows[-1] |= last
    return rows


def _row(rows: list[dict], fset: BaselineFeatures | None = None, at: int = 7) -> pd.Series:
    fset = fset or BaselineFeatures()
    table = account_day_table(rows)
    frame = fset.compute(table)
    return pd.concat([table, frame.values, frame.context], axis=1).iloc[at]


def _usual(values: list[float]) -> tuple[int, int]:
    """The usual range by hand: 10th and 90th percentile of log counts, floor and ceiling."""
    q10, q90 = np.expm1(np.quantile(np.log1p(values), [0.1, 0.9]))
    return math.floor(q10 + 1e-9), math.ceil(q90 - 1e-9)


SPRAY = {"NovelComputer": 1, "SrcIpFailedAccounts": 57, "FailedSrcIp": "10.99.60.209"}


def test_the_spray_leads_and_the_rest_follow_the_attribution():
    row = _row(_days("alex", SPRAY | {"FailedLogons": 40}, FailedLogons=[0] * 8))
    fset = BaselineFeatures()
    shap = {"new_computers": -2.7, "failed_logons": -0.5, "spray_accounts": -1.2}
    clauses = fset.clauses(row, ["new_computers", "failed_logons"], shap)
    assert [c["feature"] for c in clauses] == ["spray_accounts", "new_computers", "failed_logons"]
    assert [c["text"] for c in clauses] == [
        "10.99.60.209 failed against 57 accounts that day (usually 0 a day): a password "
        "spray pattern",
        "1 computer new to this account (usually 0 new a day)",
        "40 failed logons (usually 0 a day)",
    ]
    # The attribution decides among the account's own clauses, whatever the given order.
    swapped = {"new_computers": -0.4, "failed_logons": -3.0}
    order = [c["feature"] for c in fset.clauses(row, ["new_computers", "failed_logons"], swapped)]
    assert order == ["spray_accounts", "failed_logons", "new_computers"]
    # The spray leads even when the model pushed it towards normal.
    pushed = fset.clauses(row, ["new_computers"], {"new_computers": -2.0, "spray_accounts": 0.3})
    assert pushed[0]["feature"] == "spray_accounts"
    reason = fset.reason(row, ["new_computers", "failed_logons"], shap)
    assert reason == "; ".join(c["text"] for c in clauses) + ". Baseline: 7 days"


def test_of_failed_logons_magnitude_and_deviation_the_stronger_speaks():
    row = _row(_days("dave", {"FailedLogons": 31}, FailedLogons=[0, 1, 0, 0, 1, 0, 0, 31]))
    shap = {"failed_logons": -0.2, "failed_vs_usual": -1.5}
    clauses = BaselineFeatures().clauses(row, ["failed_logons", "failed_vs_usual"], shap)
    assert [(c["feature"], c["text"]) for c in clauses] == [
        ("failed_vs_usual", "31 failed logons (usually 0–1 a day)")
    ]


def test_clauses_within_the_usual_range_are_left_out():
    ips = [106, 120, 150, 186, 170, 140, 130, 165]
    row = _row(_days("carol", {"FailedLogons": 90}, DistinctSrcIp=ips))
    low, high = _usual(ips[:-1])
    assert low <= 165 <= high
    fset = BaselineFeatures()
    shap = {"sources_vs_usual": -2.0, "failed_logons": -1.0}
    clauses = fset.clauses(row, ["sources_vs_usual", "failed_logons"], shap)
    # 165 source IPs and 1 source host are usual for carol; 90 failures are not.
    assert [c["text"] for c in clauses] == ["90 failed logons (usually 0 a day)"]
    assert not any(within_usual(c) for c in clauses)
    # All within the usual range: the strongest is kept and says so, never an empty reason.
    alone = fset.clauses(row, ["sources_vs_usual"], shap)
    assert [c["text"] for c in alone] == [
        f"165 source IPs (usually {low}–{high} a day), within its usual range"
    ]
    assert (alone[0]["value"], alone[0]["usual_low"], alone[0]["usual_high"]) == (165, low, high)
    assert fset.reason(row, ["sources_vs_usual"], shap).startswith("165 source IPs (usually")


def test_clause_fields_and_one_number_style():
    rows = _days("erin", SPRAY | {"SrcIpHosts": 2000, "HostsSrcIp": "10.99.1.2"})
    rows[-1] |= {"NovelSrcHost": 2000, "DistinctSrcHostName": 2000}
    row = _row(rows)
    names = ["new_source_hosts", "sources_vs_usual", "new_computers", "successes_vs_usual"]
    clauses = BaselineFeatures().clauses(row, names)
    for item in clauses:
        assert set(item) == KEYS
        assert isinstance(item["value"], float) and isinstance(item["text"], str)
        for bound in (item["usual_low"], item["usual_high"]):
            assert bound is None or (isinstance(bound, float) and math.copysign(1, bound) == 1)
    texts = "; ".join(c["text"] for c in clauses)
    assert "2,000 distinct workstation names from one address (10.99.1.2)" in texts
    assert "2,000 source hosts new to this account (usually 0 new a day)" in texts
    assert "(usually 0 a day): a password spray pattern" in texts
    assert "0.0" not in texts and "day(s)" not in texts and "per day" not in texts
    assert re.findall(r"usual\w*", texts) == ["usually"] * texts.count("usually")
    # Ten successful logons every day: within the usual range, so left out.
    assert "successful logon" not in texts
    # The burst is told once even though two of the named features carry it.
    assert texts.count("distinct workstation names") == 1
    # The labels are plain words, the features the model's.
    labels = {c["feature"]: c["label"] for c in clauses}
    assert labels["new_computers"] == "new computers"
    assert labels["spray_accounts"] == "accounts one source failed against"


@pytest.mark.parametrize(
    ("hosts", "words"),
    [(3000, "not thousands of real hosts"), (201, "not hundreds of real hosts"),
     (35, "not 35 real hosts")],
)  # fmt: skip
def test_a_burst_of_workstation_names_says_what_its_number_means(hosts, words):
    row = _row(_days("bob", {"SrcIpHosts": hosts, "HostsSrcIp": "198.51.100.7"}))
    first = BaselineFeatures().clauses(row, ["sources_vs_usual"])[0]  # a pattern clause leads
    assert first["text"].startswith(
        f"{hosts:,} distinct workstation names from one address (198.51.100.7): a name that "
        "changes on every attempt"
    )
    assert first["text"].endswith(words) and first["value"] == hosts


def test_too_little_history_says_too_little_data_to_judge():
    rows = _days("veteran", {"FailedLogons": 90})
    rows += [
        {"Date": DAYS[i], "DstUser": "newbie", "FailedLogons": v}
        for i, v in ((0, 0), (1, 0), (2, 90))
    ]
    fset = BaselineFeatures()
    newbie = _row(rows, fset, at=10)
    assert fset.baseline_text(newbie) == (
        "Baseline: 2 days, too little data to judge (fewer than 5 other days): counts are "
        "not compared with its usual activity"
    )
    assert fset.baseline_text(_row(rows, fset, at=7)) == "Baseline: 7 days"
    assert (
        BaselineFeatures(min_history_days=2).baseline_text(
            _row(rows, BaselineFeatures(min_history_days=2), at=10)
        )
        == "Baseline: 2 days"
    )


#: 7 account-days of 3 accounts over two and a half years, as small real exports are.
SPARSE = [
    ("2019-01-15", "adm1nistrator", 0),
    ("2019-02-12", "admin", 0),
    ("2020-05-03", "admin", 3),
    ("2021-06-26", "admin", 0),
    ("2021-06-27", "ian", 0),
    ("2021-06-28", "admin", 40),
    ("2021-06-29", "ian", 0),
]


@pytest.mark.parametrize("feature_set", ["baseline", "seed"])
def test_a_hunt_over_too_few_days_says_so(feature_set):
    table = account_day_table(
        [{"Date": pd.Timestamp(d), "DstUser": u, "FailedLogons": f} for d, u, f in SPARSE]
    )
    found = hunt(table, feature_set=feature_set, shap=False, contamination=0.2)
    notes = [note for note in found.notes if note.startswith("Too little data to judge")]
    assert notes == [
        "Too little data to judge: only 0 of 7 account-days (3 accounts, with data on 7 days "
        "between 2019-01-15 and 2021-06-29) have at least 5 other days of the same account to "
        "compare with. An outlier here is a day unlike the rest of a small table, not a "
        "departure from the account's usual activity; hunt over a longer window or more "
        "accounts to judge."
    ]
    assert len(found.explanations) >= 1
    assert found.explanations["reason"].str.contains("too little data to judge").all()


def test_a_hunt_with_enough_history_has_no_such_note():
    rows = [r for user in ("a", "b", "c") for r in _days(user, {"FailedLogons": 5})]
    found = hunt(account_day_table(rows), shap=False)
    assert not any("Too little data" in note for note in found.notes)
    assert not found.explanations["reason"].str.contains("too little data").any()


def test_seed_clauses_speak_the_seeds_terms(demo_table):
    found = hunt(demo_table, feature_set="seed", shap=False)
    assert len(found.explanations) == 2
    for _, expl in found.explanations.iterrows():
        clauses = expl["clauses"]
        assert [c["feature"] for c in clauses] == expl["top_features"]
        assert [c["text"] for c in clauses] == expl["evidence"]
        assert all(set(c) == KEYS and c["usual_low"] is None for c in clauses)
        assert expl["reason"] == (
            "; ".join(expl["evidence"]) + ". Baseline: 21 days in the window, this one included"
        )
    srvacc = found.explanations.loc[103]
    assert srvacc["clauses"][0] == {
        "feature": "FailedLogons_zscore",
        "label": "failed logons",
        "value": 1256.0,
        "usual_low": None,
        "usual_high": None,
        "text": "1,256 failed logons (window mean 60.1, sd 274)",
    }
    # A window of one day is too little for the seed's mean and deviation too.
    row = pd.Series({"baseline_days": 1})
    assert (
        SeedFeatures()
        .baseline_text(row)
        .endswith("too little data to judge (fewer than 5 other days)")
    )


def test_novelty_clauses_name_the_new_values_when_the_table_has_them():
    hosts = ",".join(f"ws-{i:02d}" for i in range(10))
    last = {"NovelSrcHost": 12, "NewSrcHosts": hosts, "NovelComputer": 1, "NewComputers": "db7"}
    row = _row(_days("nina", last))
    texts = {
        c["feature"]: c["text"]
        for c in BaselineFeatures().clauses(row, ["new_source_hosts", "new_computers"])
    }
    assert texts["new_source_hosts"] == (
        "12 source hosts new to this account (usually 0 new a day): "
        + ", ".join(f"ws-{i:02d}" for i in range(10))
        + " and 2 more"
    )
    assert texts["new_computers"] == "1 computer new to this account (usually 0 new a day): db7"
    # Without the name columns (older exports) or with none to name, the count alone.
    for gone in ({}, {"NewSrcHosts": "", "NewComputers": float("nan")}):
        plain = _row(_days("nina", {"NovelSrcHost": 12, "NovelComputer": 1, **gone}))
        said = [
            c["text"]
            for c in BaselineFeatures().clauses(plain, ["new_source_hosts", "new_computers"])
        ]
        assert said == [
            "12 source hosts new to this account (usually 0 new a day)",
            "1 computer new to this account (usually 0 new a day)",
        ]
