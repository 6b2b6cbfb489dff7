"""allow_accounts and min_history_days through the notebooklet, the CLI and LocalData."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.params import DEFAULT_FEATURE_SET
from msticnb_iforest.pipeline import ALLOW_LISTED, hunt
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.local import LOCAL_FILE_STEMS, local_folders, read_local
from msticnb_iforest.summarize.account_days import PROFILE_COLUMNS

from ..conftest import DEMO_CSV

FAST = ["-shap", "-plot_outliers", "-plot_trends", "-account_links"]


def test_notebooklet_passes_allow_accounts_and_min_history(nb_local, demo_table):
    plain = AnomalousLogonUsers().run(data=demo_table, options=FAST)
    assert plain.feature_set == DEFAULT_FEATURE_SET
    assert "SRVACC-04" in set(plain.outliers["DstUser"])
    res = AnomalousLogonUsers().run(
        data=demo_table, options=FAST, allow_accounts=["CONTOSO\\srvacc-*"], min_history_days=3
    )
    assert "SRVACC-04" not in set(res.outliers["DstUser"])
    assert res.suppressed_outliers == {ALLOW_LISTED: len(plain.outliers)}
    assert res.parameters["allow_accounts"] == ["CONTOSO\\srvacc-*"]
    assert res.parameters["min_history_days"] == 3
    pd.testing.assert_series_equal(res.user_days["score"], plain.user_days["score"])
    doc = AnomalousLogonUsers.run.__doc__ + AnomalousLogonUsers.__doc__
    assert "allow_accounts" in doc and "min_history_days" in doc


def test_cli_allow_account_and_min_history_days(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", DEMO_CSV, "--out", out, "--no-shap", "--max-plots", "0", "-q"]
    args += ["--allow-account", "SRVACC-04", "--allow-account", "nobody@contoso.com"]
    args += ["--min-history-days", "4"]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "0 outlier(s)" in captured.out
    run = json.loads((out / "run.json").read_text())
    text = json.dumps(run)
    assert "SRVACC-04" in text and ALLOW_LISTED in text
    assert '"min_history_days": 4' in text
    assert main(["run", str(DEMO_CSV), "--out", str(out), "--min-history-days", "-1"]) == 2


def test_local_events_are_profiled_for_the_default_feature_set(local_folder):
    folder, init = local_folder
    demo = generate_demo(40, 10, seed=4)
    demo.events.to_parquet(folder / f"{LOCAL_FILE_STEMS['network_logon_events']}.parquet")
    init()
    span = TimeSpan(start=demo.start, end=demo.end)
    res = AnomalousLogonUsers().run(timespan=span, options=FAST)
    assert set(PROFILE_COLUMNS) <= set(res.user_days.columns)
    assert "new_source_ips" in res.features and "spray_accounts" in res.features
    assert not any("not computed" in note for note in res.notes)
    seed = AnomalousLogonUsers().run(timespan=span, feature_set="seed", options=FAST)
    assert not set(PROFILE_COLUMNS) & set(seed.user_days.columns)


def test_local_table_files_are_picked_per_feature_set(local_folder):
    folder, init = local_folder
    pd.read_csv(DEMO_CSV).to_csv(folder / f"{LOCAL_FILE_STEMS['user_day_summary']}.csv")
    init()
    span = TimeSpan(start="2022-09-06T00:00:00+00:00", end="2022-09-27T00:00:00+00:00")
    # Only a user_day_summary table: the default feature set uses it and says what is missing.
    res = AnomalousLogonUsers().run(timespan=span, options=FAST)
    assert res.feature_set == DEFAULT_FEATURE_SET and len(res.user_days) == 135
    assert any("NovelSrcIp" in note for note in res.notes)
    # A saved account_day_summary table wins for the default feature set, not for seed.
    demo = generate_demo(30, 8, seed=6)
    from msticnb_iforest.summarize.account_days import account_day_summary

    account_day_summary(demo.events).to_csv(
        folder / f"{LOCAL_FILE_STEMS['account_day_summary']}.csv", index=False
    )
    init()
    span = TimeSpan(start=demo.start, end=demo.end)
    table, files = read_local(
        local_folders(AnomalousLogonUsers().query_provider), "account_day_summary"
    )
    assert str(files[0]["path"]).endswith("anomalous_logons_account_days.csv")
    assert set(PROFILE_COLUMNS) <= set(table.columns)
    table, files = read_local(
        local_folders(AnomalousLogonUsers().query_provider), "user_day_summary"
    )
    assert str(files[0]["path"]).endswith("anomalous_logons_user_days.csv")


@pytest.mark.parametrize(("name", "share"), [("seed", 0.01), ("baseline", 0.01), ("habits", 0.005)])
def test_without_contamination_each_feature_set_reports_at_its_own_share(name, share):
    events = generate_demo(n_users=60, n_days=14, seed=3).events
    result = hunt(events, feature_set=name, shap=False, max_explained=0)
    assert result.parameters["contamination"] == share
    assert result.model.contamination == share
    chosen = hunt(events, feature_set=name, contamination=0.02, shap=False, max_explained=0)
    assert chosen.parameters["contamination"] == 0.02
    # The threshold moves with the share: more user-days above it at 2 %.
    assert chosen.user_days["is_outlier"].sum() > result.user_days["is_outlier"].sum()
