"""
Property-based tests of the feature maths and the local summary.

Tables and event logs are drawn by hypothesis: permuting rows changes
nothing, an unrelated account leaves another account's per-account features
alone, seed z-scores are finite and non-negative, summary counts add up and
every event is accounted for, and a hunt is deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msticnb_iforest.features import FEATURE_SETS, get_feature_set
from msticnb_iforest.features.seed import SEED_FEATURES, seed_zscores
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.schema import COUNT_COLUMNS, prepare_summary
from msticnb_iforest.summarize.user_days import user_day_summary

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY0 = pd.Timestamp("2024-03-01")
NAMES = ["alice", "BOB", "svc-01", 'o"q\\x', "Zoë", ""]
DOMAINS = ["CONTOSO", "contoso", "FABRIKAM"]


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------
@st.composite
def summary_tables(draw, min_rows: int = 1, max_rows: int = 40) -> pd.DataFrame:
    """
    A per-user-day table: a few accounts, a few days, counts that hang together.

    Hypothesis draws the shape (rows, accounts, days, count scale, duplicates);
    a seeded generator fills in the values, which keeps each example fast.
    """
    n = draw(st.integers(min_rows, max_rows))
    n_accounts = draw(st.integers(1, 5))
    n_days = draw(st.integers(1, 10))
    scale = draw(st.sampled_from([0, 1, 5, 300, 10**6]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pairs = [(DOMAINS[i % len(DOMAINS)], NAMES[i % len(NAMES)]) for i in range(len(NAMES) * 3)]
    accounts = [pairs[i] for i in rng.choice(len(pairs), size=n_accounts, replace=False)]
    pick = rng.integers(0, n_accounts, n)
    ok = rng.integers(0, scale + 1, n)
    failed = rng.integers(0, scale + 1, n)
    has_ok = ok > 0
    computers = rng.integers(0, 9, n) * has_ok
    return pd.DataFrame(
        {
            "Date": (DAY0 + pd.to_timedelta(rng.integers(0, n_days, n), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "DstDomain": [accounts[i][0] for i in pick],
            "DstUser": [accounts[i][1] for i in pick],
            "LogonTypeName": "3 - Network",
            "AttemptedLogons": ok + failed,
            "SuccessfulLogons": ok,
            "FailedLogons": failed,
            "ComputerDomainsAccessed": 1,
            "DistinctAuthenticationPackage": rng.integers(1, 3, n),
            "ComputersAccessed": computers + rng.integers(0, 3, n),
            "DistinctSrcIp": rng.integers(1, 6, n),
            "DistinctSrcHostName": rng.integers(1, 6, n),
            "ComputersSuccessfulAccess": computers,
            "ComputerDomainsSuccessfulAccess": has_ok.astype(int),
            "SrcIpSuccessfulAccess": rng.integers(0, 5, n) * has_ok,
            "SrcHostNameSuccessfulAccess": rng.integers(0, 5, n) * has_ok,
        }
    )


@st.composite
def event_logs(draw) -> pd.DataFrame:
    """Raw SecurityEvent rows, including ones the summary's filters drop."""
    n = draw(st.integers(0, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def pick(values: list) -> list:
        return [values[i] for i in rng.integers(0, len(values), n)]

    seconds = rng.integers(-3_600, 4 * 86_400, n)
    return pd.DataFrame(
        {
            "TimeGenerated": (DAY0 + pd.to_timedelta(seconds, unit="s")).tz_localize("UTC"),
            "EventID": pick([4624, 4625, 4634, 4624, 4625]),
            "TargetUserName": pick([*NAMES, "HOST1$", "ANONYMOUS LOGON"]),
            "TargetDomainName": pick([*DOMAINS, "NT AUTHORITY"]),
            "LogonType": pick([3, 3, 2, 5]),
            "LogonTypeName": pick(["3 - Network", "3 - Network", "2 - Interactive"]),
            "Computer": pick(["srv1", "srv2", "dc1", ""]),
            "IpAddress": pick(["10.0.0.1", "10.0.0.2", "-", ""]),
            "WorkstationName": pick(["WKS1", "WKS2", "-"]),
            "AuthenticationPackageName": pick(["NTLM", "Kerberos"]),
        }
    )


def _features(name: str, table: pd.DataFrame) -> pd.DataFrame:
    return get_feature_set(name).compute(prepare_summary(table)).values


# --------------------------------------------------------------------------
# Feature maths
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
@FAST
@given(table=summary_tables(), seed=st.integers(0, 2**32 - 1))
def test_features_do_not_depend_on_row_order(name, table, seed):
    order = np.random.default_rng(seed).permutation(len(table))
    base = _features(name, table)
    shuffled = _features(name, table.iloc[order])
    np.testing.assert_allclose(shuffled.to_numpy(), base.to_numpy()[order], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
@FAST
@given(table=summary_tables(), other=summary_tables(max_rows=15))
def test_an_unrelated_account_leaves_per_account_features_alone(name, table, other):
    """On summary columns every feature is the account's own: a stranger changes none."""
    stranger = other.assign(DstDomain="ELSEWHERE", DstUser="stranger")
    base = _features(name, table)
    both = _features(name, pd.concat([table, stranger], ignore_index=True))
    np.testing.assert_allclose(
        both.to_numpy()[: len(table)], base.to_numpy(), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
@FAST
@given(table=summary_tables())
def test_features_are_finite(name, table):
    values = _features(name, table).to_numpy()
    assert np.isfinite(values).all()


@FAST
@given(table=summary_tables())
def test_seed_zscores_are_finite_and_not_negative(table):
    values = _features("seed", table)
    assert list(values.columns) == SEED_FEATURES
    zscores = values[[c for c in SEED_FEATURES if c.endswith("_zscore")]].to_numpy()
    assert np.isfinite(zscores).all() and (zscores >= 0).all()


@FAST
@given(
    counts=st.lists(st.integers(0, 10**12), min_size=1, max_size=30),
    groups=st.lists(st.integers(0, 3), min_size=30, max_size=30),
)
def test_seed_zscore_bounds_and_flat_groups(counts, groups):
    values = pd.Series(counts, dtype="float64")
    keys = [pd.Series(groups[: len(counts)])]
    zscore, mean, std = seed_zscores(values, keys)
    assert np.isfinite(zscore).all() and (zscore >= 0).all()
    # The damping is log10(x + 1) of a one-sided z (or of the value when flat): bounded.
    assert (zscore <= np.log10(values.max() + 1) + 1e-9).all()
    flat = std.isna() | (std == 0)
    np.testing.assert_allclose(zscore[flat], np.log10(values[flat] + 1))


# --------------------------------------------------------------------------
# The local summary
# --------------------------------------------------------------------------
@FAST
@given(events=event_logs(), seed=st.integers(0, 2**32 - 1))
def test_summary_does_not_depend_on_row_order(events, seed):
    order = np.random.default_rng(seed).permutation(len(events))
    base = user_day_summary(events)
    shuffled = user_day_summary(events.iloc[order])
    pd.testing.assert_frame_equal(shuffled, base)


@FAST
@given(events=event_logs())
def test_summary_counts_add_up(events):
    summary, dropped = user_day_summary(events, return_dropped=True)
    assert (
        summary["AttemptedLogons"] == summary["SuccessfulLogons"] + summary["FailedLogons"]
    ).all()
    # Every event is either counted once or dropped for a named reason.
    assert summary["AttemptedLogons"].sum() + sum(dropped.values()) == len(events)
    assert not summary.duplicated(["Date", "DstDomain", "DstUser", "LogonTypeName"]).any()
    for part, whole in [
        ("ComputersSuccessfulAccess", "ComputersAccessed"),
        ("SrcIpSuccessfulAccess", "DistinctSrcIp"),
        ("SrcHostNameSuccessfulAccess", "DistinctSrcHostName"),
    ]:
        assert (summary[part] <= summary[whole]).all()
        assert (summary[part] <= summary["SuccessfulLogons"]).all()
    for col in COUNT_COLUMNS:
        assert (summary[col] >= 0).all()
        assert (
            summary[col] <= summary["AttemptedLogons"]
        ).all() or col == "ComputerDomainsAccessed"
    assert (summary["ActiveMilliseconds"] >= 0).all()


@FAST
@given(events=event_logs(), extra=event_logs())
def test_an_unrelated_account_leaves_other_summary_rows_alone(events, extra):
    stranger = extra.assign(TargetDomainName="ELSEWHERE", TargetUserName="stranger")
    base = user_day_summary(events)
    both = user_day_summary(pd.concat([events, stranger], ignore_index=True))
    mine = both[both["DstUser"] != "stranger"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, base[base["DstUser"] != "stranger"].reset_index(drop=True))


# --------------------------------------------------------------------------
# The hunt
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=summary_tables(min_rows=2), random_state=st.integers(0, 2**31 - 1))
def test_hunt_is_deterministic_for_a_seed(name, table, random_state):
    first = hunt(table, feature_set=name, random_state=random_state, n_estimators=20, shap=False)
    again = hunt(table, feature_set=name, random_state=random_state, n_estimators=20, shap=False)
    pd.testing.assert_series_equal(first.user_days["score"], again.user_days["score"])
    assert list(first.outliers.index) == list(again.outliers.index)
    assert first.notes == again.notes
    assert np.isfinite(first.user_days["score"]).all()
