"""Outliers grouped into incidents: on the demo's spray and on hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from msticnb_iforest.incidents import INCIDENT_COLUMNS, KINDS, first_clauses, group_incidents
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo

SPRAY_SOURCE, SPRAY_DAY = "10.99.60.209", pd.Timestamp("2024-03-21")

#: A hunt's incidents: the grouping's columns and the status the state step adds.
HUNT_INCIDENT_COLUMNS = [*INCIDENT_COLUMNS, "status"]


@pytest.fixture(scope="module")
def demo_hunt():
    """The default demo company, hunted with the default feature set at 1 %."""
    return hunt(generate_demo().events, contamination=0.01)


def _outliers(rows: list[dict]) -> pd.DataFrame:
    """Outlier rows from short dicts: day, user, score and any source columns."""
    frame = pd.DataFrame(rows)
    frame["Date"] = pd.to_datetime(frame.pop("day"))
    frame["DstDomain"] = "CONTOSO"
    frame["DstUser"] = frame.pop("user")
    return frame.set_index(pd.Index([100 + i for i in range(len(frame))]))


def _spray(day: str, source: str, users: list[str], accounts: int = 40, score: float = 0.1):
    return [
        {
            "day": day,
            "user": user,
            "score": score - i / 1000,
            "FailedSrcIp": source,
            "SrcIpFailedAccounts": accounts,
            "SrcIpFailedAccountsUsual": 0.5,
            "HostsSrcIp": f"10.1.0.{ord(user[0])}",  # each user's own workstation
        }
        for i, user in enumerate(users)
    ]


def _same_pattern(outliers: pd.DataFrame) -> pd.DataFrame:
    """Explanations giving every outlier the same top features and a reason."""
    return pd.DataFrame(
        {
            "top_features": [["spray_accounts", "failed_logons"]] * len(outliers),
            "reason": "2 failed logons; usual 0 per day; the source failed against 40 accounts",
        },
        index=outliers.index,
    )


def _by_member(incidents: pd.DataFrame, incident: pd.Series) -> dict[int, set[str]]:
    return {k: set(rows.index.astype(str)) for k, rows in incident.groupby(incident)}


def test_the_demo_spray_is_one_incident_read_first(demo_hunt):
    outliers, incidents = demo_hunt.outliers, demo_hunt.incidents
    sprayed = outliers[(outliers["Date"] == SPRAY_DAY) & (outliers["FailedSrcIp"] == SPRAY_SOURCE)]
    assert len(sprayed) >= 15  # about twenty of the 57 accounts are flagged
    top = incidents.iloc[0]
    assert top["incident"] == 1 and top["kind"] == "password spray"
    assert (incidents["kind"] == "password spray").sum() == 1
    assert top["n_accounts"] == top["n_outliers"] == len(sprayed)
    assert set(top["accounts"].split(", ")) == set("CONTOSO\\" + sprayed["DstUser"])
    assert top["members"].split(", ") == [str(label) for label in sprayed.index]
    assert top["first_day"] == top["last_day"] == SPRAY_DAY
    assert top["sources"].split(", ")[0] == SPRAY_SOURCE
    assert top["lead"] == (
        f"Password spray from {SPRAY_SOURCE} on 2024-03-21: failed against 57 accounts "
        f"(usually 0 a day), {len(sprayed)} flagged"
    )
    assert set(outliers.loc[sprayed.index, "incident"]) == {1}
    assert len(incidents) < len(outliers)


def test_every_demo_outlier_is_in_exactly_one_incident(demo_hunt):
    outliers, incidents = demo_hunt.outliers, demo_hunt.incidents
    assert list(incidents.columns) == HUNT_INCIDENT_COLUMNS
    assert incidents["incident"].tolist() == list(range(1, len(incidents) + 1))
    assert outliers["incident"].dtype == "int64"
    assert incidents["n_outliers"].sum() == len(outliers)
    for row in incidents.itertuples():
        members = outliers[outliers["incident"] == row.incident]
        assert row.members == ", ".join(members.index.astype(str))
        assert row.score == members["score"].max()
    assert set(incidents["kind"]) <= set(KINDS)
    assert pd.api.types.is_datetime64_dtype(incidents["first_day"])


def test_a_lone_outlier_leads_with_its_account_day_and_strongest_reason(demo_hunt):
    singles = demo_hunt.incidents[demo_hunt.incidents["kind"] == "single"]
    assert len(singles) >= 3  # the brute forces, the lateral movement, the service account
    expl = demo_hunt.explanations
    for row in singles.itertuples():
        label = int(row.members)
        outlier = demo_hunt.outliers.loc[label]
        head = f"CONTOSO\\{outlier['DstUser']} on {outlier['Date']:%Y-%m-%d}: "
        assert row.n_accounts == row.n_outliers == 1
        assert row.lead.startswith(head)
        clause = row.lead[len(head) :]
        assert clause and expl.loc[label, "reason"].startswith(clause)
        assert ". Baseline" not in clause
    brute = singles[singles["accounts"] == "CONTOSO\\ben.sanchez"].iloc[0]
    assert brute["lead"].startswith(
        "CONTOSO\\ben.sanchez on 2024-03-26: 201 distinct workstation names from one address"
    )
    assert brute["sources"] == "10.99.42.37"


def test_two_sprays_on_one_day_from_two_sources_stay_two_incidents():
    outliers = _outliers(
        _spray("2024-03-21", "203.0.113.5", ["ann", "bob", "cy"], accounts=40, score=0.3)
        + _spray("2024-03-21", "198.51.100.9", ["dan", "eve"], accounts=12, score=0.2)
    )
    incidents, incident = group_incidents(outliers, outliers, _same_pattern(outliers))
    assert incidents["kind"].tolist() == ["password spray", "password spray"]
    assert incidents["sources"].tolist() == ["203.0.113.5", "198.51.100.9"]
    assert incidents["accounts"].tolist() == [
        "CONTOSO\\ann, CONTOSO\\bob, CONTOSO\\cy",
        "CONTOSO\\dan, CONTOSO\\eve",
    ]
    assert incidents["lead"].tolist() == [
        "Password spray from 203.0.113.5 on 2024-03-21: failed against 40 accounts "
        "(usually 0–1 a day), 3 flagged",
        "Password spray from 198.51.100.9 on 2024-03-21: failed against 12 accounts "
        "(usually 0–1 a day), 2 flagged",
    ]
    assert incident.tolist() == [1, 1, 1, 2, 2]
    assert incident.index.equals(outliers.index)


def test_one_source_on_two_days_makes_two_incidents():
    outliers = _outliers(
        _spray("2024-03-21", "203.0.113.5", ["ann", "bob"], score=0.3)
        + _spray("2024-03-22", "203.0.113.5", ["cy", "dan"], score=0.2)
    )
    incidents, incident = group_incidents(outliers, outliers)
    assert incidents["first_day"].tolist() == [SPRAY_DAY, pd.Timestamp("2024-03-22")]
    assert (incidents["first_day"] == incidents["last_day"]).all()
    assert incidents["n_accounts"].tolist() == [2, 2]
    assert incident.tolist() == [1, 1, 2, 2]


def test_a_source_that_failed_against_few_accounts_is_a_shared_source_not_a_spray():
    rows = _spray("2024-03-21", "203.0.113.5", ["ann", "bob"], accounts=3)
    incidents, _ = group_incidents(_outliers(rows))
    assert incidents["kind"].tolist() == ["shared source"]
    assert incidents["lead"].iloc[0] == (
        "Shared source 203.0.113.5 on 2024-03-21: 2 flagged accounts (CONTOSO\\ann, CONTOSO\\bob)"
    )
    # a source that fails against 40 accounts every day is not spraying today
    usual = [dict(row, SrcIpFailedAccounts=45, SrcIpFailedAccountsUsual=40.0) for row in rows]
    assert group_incidents(_outliers(usual))[0]["kind"].tolist() == ["shared source"]


def test_a_shared_logon_source_links_unless_most_of_the_day_comes_from_it():
    rows = [
        {"day": "2024-03-21", "user": user, "score": 0.2, "HostsSrcIp": "10.7.7.7"}
        for user in ("ann", "bob", "cy", "dan", "eve")
    ]
    outliers = _outliers(rows)
    incidents, _ = group_incidents(outliers, outliers)
    assert incidents["kind"].tolist() == ["shared source"]
    assert incidents["lead"].iloc[0] == (
        "Shared source 10.7.7.7 on 2024-03-21: 5 flagged accounts "
        "(CONTOSO\\ann, CONTOSO\\bob, CONTOSO\\cy and 2 more)"
    )
    assert incidents["sources"].iloc[0] == "10.7.7.7"
    # a gateway: 20 unflagged account-days that day come from it too
    gateway = pd.concat([outliers, _outliers([dict(rows[0], user=f"u{i}") for i in range(20)])])
    incidents, incident = group_incidents(outliers, gateway)
    assert incidents["kind"].tolist() == ["single"] * 5
    assert incident.tolist() == [1, 2, 3, 4, 5]


def test_links_join_into_one_incident_through_a_shared_member():
    rows = _spray("2024-03-21", "203.0.113.5", ["ann", "bob"], score=0.3)
    rows[1]["HostsSrcIp"] = "10.7.7.7"  # bob's logons came from where cy's did
    rows.append({"day": "2024-03-21", "user": "cy", "score": 0.1, "HostsSrcIp": "10.7.7.7"})
    incidents, incident = group_incidents(_outliers(rows))
    assert incidents["kind"].tolist() == ["password spray"]
    assert incidents["sources"].iloc[0] == "203.0.113.5, 10.7.7.7"
    assert incidents["lead"].iloc[0].endswith("3 flagged; 1 other source(s) linked")
    assert incident.tolist() == [1, 1, 1]


def test_the_same_pattern_on_one_day_links_outliers_no_source_links():
    outliers = _outliers(
        [
            {"day": "2024-03-21", "user": "ann", "score": 0.3},
            {"day": "2024-03-21", "user": "bob", "score": 0.2},
            {"day": "2024-03-22", "user": "cy", "score": 0.25},
        ]
    )
    explanations = _same_pattern(outliers)
    incidents, incident = group_incidents(outliers, outliers, explanations)
    assert incidents["kind"].tolist() == ["same pattern", "single"]
    assert incidents["lead"].tolist() == [
        "Same pattern in 2 flagged accounts on 2024-03-21 (CONTOSO\\ann, CONTOSO\\bob): "
        "2 failed logons; usual 0 per day (CONTOSO\\ann)",
        "CONTOSO\\cy on 2024-03-22: 2 failed logons; usual 0 per day",
    ]
    assert incident.tolist() == [1, 1, 2]
    # the first of structured clauses, when the explanations have them, is the reason led with
    explanations["clauses"] = [[{"text": "the strongest", "feature": "x"}]] * 3
    assert (
        group_incidents(outliers, outliers, explanations)[0]["lead"]
        .iloc[1]
        .endswith(": the strongest")
    )


def test_incidents_are_read_in_order_of_flagged_activity():
    outliers = _outliers(
        [{"day": "2024-03-20", "user": "zed", "score": 0.09}]
        + _spray("2024-03-21", "203.0.113.5", ["ann", "bob", "cy"], score=0.05)
    )
    incidents, incident = group_incidents(outliers)
    assert incidents["kind"].tolist() == ["password spray", "single"]
    assert incidents["score"].tolist() == [0.05, 0.09]
    assert incident.tolist() == [2, 1, 1, 1]
    assert incidents["lead"].iloc[1] == "CONTOSO\\zed on 2024-03-20: flagged with score 0.090"


def test_without_source_columns_only_patterns_link_and_lone_outliers_stand_alone(demo_table):
    found = hunt(demo_table, feature_set="seed", contamination=0.05, shap=False)
    incidents = found.incidents
    assert len(found.outliers) >= 5
    assert list(incidents.columns) == HUNT_INCIDENT_COLUMNS
    assert set(incidents["kind"]) <= {"same pattern", "single"}
    assert incidents["n_outliers"].sum() == len(found.outliers)
    assert (incidents["sources"] == "").all()
    assert found.outliers["incident"].between(1, len(incidents)).all()
    top = found.outliers.iloc[0]
    assert incidents.loc[incidents["incident"] == top["incident"], "score"].item() == top["score"]


def test_grouping_is_deterministic_and_leaves_its_inputs_alone(demo_hunt):
    outliers, user_days = demo_hunt.outliers.copy(), demo_hunt.user_days.copy()
    explanations = demo_hunt.explanations.copy()
    first = group_incidents(outliers, user_days, explanations)
    again = group_incidents(outliers, user_days, explanations)
    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_series_equal(first[1], again[1])
    pd.testing.assert_frame_equal(first[0], demo_hunt.incidents.drop(columns="status"))
    pd.testing.assert_frame_equal(outliers, demo_hunt.outliers)
    pd.testing.assert_frame_equal(user_days, demo_hunt.user_days)
    pd.testing.assert_frame_equal(explanations, demo_hunt.explanations)


def test_a_hunt_without_outliers_has_an_empty_incident_table(demo_table):
    nothing = hunt(demo_table, feature_set="seed", account="nobody", shap=False)
    assert nothing.outliers.empty and "incident" in nothing.outliers.columns
    assert nothing.incidents.empty and list(nothing.incidents.columns) == HUNT_INCIDENT_COLUMNS
    empty = hunt(demo_table.iloc[0:0])
    assert list(empty.incidents.columns) == HUNT_INCIDENT_COLUMNS
    assert empty.outliers["incident"].dtype == "int64"
    assert empty.incidents["first_day"].dtype == "datetime64[ns]"


def test_first_clauses_when_no_outlier_has_a_clause():
    """Explanations whose clause lists are all empty (nothing anomalous) fall back to the reason."""
    why = pd.DataFrame(
        {"reason": ["unusual combination of values", "3 failed logons"], "clauses": [[], []]}
    )
    assert first_clauses(why, why.index).tolist() == [
        "unusual combination of values",
        "3 failed logons",
    ]
    assert first_clauses(why, pd.Index([5])).tolist() == [""]
