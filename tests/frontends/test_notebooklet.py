"""End-to-end behaviour of the AnomalousLogonUsers notebooklet (offline)."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from matplotlib.figure import Figure
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers, QueryError
from msticnb_iforest.frontends.anomalous_logon_users import AnomalousLogonUsersResult
from msticnb_iforest.sources.query import default_timespan

from ..widget_parts import part


@pytest.fixture(scope="module")
def seed_result(nb_local, demo_table) -> AnomalousLogonUsersResult:
    return AnomalousLogonUsers().run(data=demo_table, feature_set="seed")


def test_result_attributes(seed_result, demo_table):
    res = seed_result
    assert isinstance(res, AnomalousLogonUsersResult)
    assert len(res.user_days) == len(demo_table)
    for col in ("score", "is_outlier", "suppressed", *res.features):
        assert col in res.user_days.columns
    assert list(res.outliers["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]
    assert res.outliers["score"].is_monotonic_decreasing
    assert list(res.shap_values.index) == list(res.outliers.index)
    assert list(res.shap_values.columns) == res.features
    assert isinstance(res.shap_expected_value, float)
    assert list(res.explanations.index) == list(res.outliers.index)
    assert res.explanations["reason"].str.len().gt(10).all()
    assert "failed logons" in res.explanations.loc[103, "reason"]
    assert res.model is not None and res.model.n_estimators == 294
    assert res.feature_set == "seed"
    assert res.query is None
    assert res.parameters["random_state"] == 42


def test_plots_are_figures(seed_result):
    assert isinstance(seed_result.shap_summary_plot, Figure)
    assert len(seed_result.outlier_plots) == 2
    assert all(isinstance(fig, Figure) for _, fig in seed_result.outlier_plots)
    assert [label for label, _ in seed_result.trend_plots] == [
        "CONTOSO\\SVC-ACC-02",
        "CONTOSO\\SRVACC-04",
    ]
    trend = seed_result.trend_plots[0][1]
    assert isinstance(trend, Figure) and len(trend.axes) == 6
    assert seed_result.score_histogram is None  # not a default option
    population = seed_result.population_plot  # a default option
    assert isinstance(population, Figure)
    (points,) = [c for c in population.axes[0].collections if c.get_gid() == "outliers"]
    assert len(points.get_offsets()) == len(seed_result.outliers) == 2
    assert isinstance(seed_result.correlation_plot, Figure)  # drawn with the population


def test_account_links_are_valid_python(seed_result):
    links = seed_result.account_links
    assert list(links["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]
    for code in links["code"]:
        tree = ast.parse(code)
        calls = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert {"run", "list_logons_by_account", "list_logon_failures_by_account"} <= calls
    assert "2022-09-25T00:00:00" in links.loc[0, "code"]


def test_options_minus_and_plus(nb_local, demo_table):
    nblt = AnomalousLogonUsers()
    res = nblt.run(
        data=demo_table,
        feature_set="seed",
        options=["-shap", "-plot_outliers", "-plot_trends", "-account_links"],
    )
    assert res.shap_values is None
    assert res.shap_summary_plot is None and res.outlier_plots == [] and res.trend_plots == []
    assert res.account_links is None
    assert isinstance(res.population_plot, Figure)  # still a default option
    # explanations still exist without SHAP (ranked by rarity)
    assert len(res.explanations) == 2 and res.explanations["reason"].str.len().gt(0).all()
    res = nblt.run(data=demo_table, feature_set="seed", options=["+score_histogram"])
    assert isinstance(res.score_histogram, Figure)
    assert res.shap_values is not None
    res = nblt.run(data=demo_table, feature_set="seed", options=["shap"])
    assert res.trend_plots == [] and res.account_links is None and res.shap_values is not None
    assert res.population_plot is None and res.correlation_plot is None


def test_value_limits_report_not_training(nb_local, demo_table, seed_result):
    res = AnomalousLogonUsers().run(value="CONTOSO\\srvacc-04", data=demo_table, feature_set="seed")
    assert list(res.outliers["DstUser"]) == ["SRVACC-04"]
    pd.testing.assert_series_equal(res.user_days["score"], seed_result.user_days["score"])
    assert [label for label, _ in res.trend_plots] == ["CONTOSO\\SRVACC-04"]
    none = AnomalousLogonUsers().run(value="nobody", data=demo_table, feature_set="seed")
    assert none.outliers.empty
    assert any("nobody" in note for note in none.notes)


def test_determinism_and_seed_change(nb_local, demo_table):
    first = AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=["-shap"])
    second = AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=["-shap"])
    pd.testing.assert_series_equal(first.user_days["score"], second.user_days["score"])
    other = AnomalousLogonUsers().run(
        data=demo_table, feature_set="seed", random_state=7, options=["-shap"]
    )
    assert not first.user_days["score"].equals(other.user_days["score"])


def test_silent_run_prints_nothing(nb_local, demo_table, capsys):
    AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=["-shap"])
    captured = capsys.readouterr()
    assert captured.out == ""


def test_not_silent_shows_progress(nb_local, demo_table, capsys):
    nb_local.set_opt("silent", False)
    try:
        AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=["-shap"])
    finally:
        nb_local.set_opt("silent", True)
    out = capsys.readouterr().out
    assert "Scoring 135 user-days" in out
    assert "Computing 'seed' features" in out


def test_default_timespan_is_21_full_days():
    start, end = default_timespan(datetime(2024, 3, 10, 15, 30, tzinfo=timezone.utc))
    assert end == datetime(2024, 3, 10, tzinfo=timezone.utc)
    assert start == end - timedelta(days=21)


class _FakeFamily:
    def __init__(self, provider):
        self._provider = provider

    def user_day_summary(self, *args, **kwargs):
        self._provider.calls.append((args, kwargs))
        if "print" in args:
            return f"KQL {kwargs['table']} {kwargs['start']:%Y-%m-%d}..{kwargs['end']:%Y-%m-%d}"
        return self._provider.rows


class _FakeProvider:
    """Stands in for a connected msticpy QueryProvider (the network edge)."""

    environment = "MSSentinel"

    def __init__(self, rows, connected=True):
        self.rows = rows
        self.connected = connected
        self.calls = []
        self.AnomalousLogons = _FakeFamily(self)


def test_query_path_with_fake_provider(nb_local, demo_table):
    fake = _FakeProvider(demo_table)
    nblt = AnomalousLogonUsers()
    nblt.query_provider = fake
    span = TimeSpan(start=datetime(2022, 9, 6), end=datetime(2022, 9, 27))
    res = nblt.run(timespan=span, feature_set="seed", split_query_by="1D", options=["-shap"])
    assert res.query.startswith("KQL SecurityEvent 2022-09-06..2022-09-27")
    run_call = [kw for args, kw in fake.calls if "print" not in args][0]
    assert run_call["split_query_by"] == "1D"
    assert run_call["table"] == "SecurityEvent"
    assert list(res.outliers["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]


def test_default_window_used_without_timespan(nb_local, demo_table):
    fake = _FakeProvider(demo_table)
    nblt = AnomalousLogonUsers()
    nblt.query_provider = fake
    nblt.run(feature_set="seed", options=["-shap"])
    start, end = default_timespan()
    kwargs = [kw for args, kw in fake.calls if "print" not in args][0]
    assert pd.Timestamp(kwargs["end"]) == pd.Timestamp(end)
    assert pd.Timestamp(kwargs["start"]) == pd.Timestamp(start)


def test_unconnected_provider_gives_one_clear_error(nb_local, demo_table):
    nblt = AnomalousLogonUsers()
    nblt.query_provider = _FakeProvider(demo_table, connected=False)
    with pytest.raises(QueryError, match="not connected"):
        nblt.run(feature_set="seed")


def test_hostile_table_name_is_rejected(nb_local, demo_table):
    nblt = AnomalousLogonUsers()
    nblt.query_provider = _FakeProvider(demo_table)
    with pytest.raises(ValueError, match="table must be a plain table name"):
        nblt.run(feature_set="seed", table="SecurityEvent | take 1; drop")


def test_methods_without_outliers_are_polite(nb_local, capsys):
    nblt = AnomalousLogonUsers()
    assert nblt.account_summary() is None
    assert nblt.logons() is None
    assert nblt.browse_outliers() is None


def test_browse_outliers_widget(nb_local, demo_table):
    import ipywidgets as widgets

    nblt = AnomalousLogonUsers()
    nblt.run(data=demo_table, feature_set="seed")
    box = nblt.browse_outliers()
    assert isinstance(box, widgets.VBox)
    select = part(box, "alu-pick")
    assert len(select.options) == 2
    html = part(box, "alu-reason").value
    assert "SVC-ACC-02" in html
    select.value = select.options[1][1]
    assert "SRVACC-04" in part(box, "alu-reason").value
    image = part(box, "alu-shap").value
    assert image[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_draws_charts_beyond_the_plot_cap_on_demand(nb_local, demo_table):
    png = b"\x89PNG\r\n\x1a\n"
    nblt = AnomalousLogonUsers()
    # Two outliers, one plot of each kind drawn by the run, both explained.
    result = nblt.run(data=demo_table, feature_set="seed", max_plots=1)
    assert len(result.outliers) == 2 and len(result.outlier_plots) == 1
    box = nblt.browse_outliers()
    select, reason = part(box, "alu-pick"), part(box, "alu-reason")
    shap_image, trend_image = part(box, "alu-shap"), part(box, "alu-trend")
    select.value = select.options[1][1]  # the second outlier: no chart from the run
    assert "SRVACC-04" in reason.value and "Not explained" not in reason.value
    assert shap_image.value[:8] == png and trend_image.value[:8] == png
    select.value = select.options[0][1]
    first = shap_image.value
    select.value = select.options[1][1]
    select.value = select.options[0][1]
    assert shap_image.value == first  # drawn once, reused


def test_browser_says_why_an_outlier_is_not_explained(nb_local, demo_table):
    nblt = AnomalousLogonUsers()
    nblt.run(data=demo_table, feature_set="seed", max_plots=1, max_explained=1)
    box = nblt.browse_outliers()
    select, reason = part(box, "alu-pick"), part(box, "alu-reason")
    shap_image, trend_image = part(box, "alu-shap"), part(box, "alu-trend")
    select.value = select.options[1][1]
    assert "Not explained: explanations cover the top 1 outlier(s)" in reason.value
    assert shap_image.value == b""  # no SHAP values to draw
    assert trend_image.value[:8] == b"\x89PNG\r\n\x1a\n"  # the trend needs none


def test_pivot_methods_escape_names(nb_local, demo_table):
    calls = []

    class _Win:
        def list_logons_by_account(self, **kwargs):
            calls.append(kwargs)
            return pd.DataFrame()

    nblt = AnomalousLogonUsers()
    table = demo_table.copy()
    table["DstUser"] = table["DstUser"].replace("SVC-ACC-02", 'svc"02\\x')
    nblt.run(data=table, feature_set="seed", options=["-shap"])
    nblt.query_provider = type("P", (), {"WindowsSecurity": _Win()})()
    nblt.logons()
    assert calls[0]["account_name"] == 'svc\\"02\\\\x'
    assert calls[0]["end"] - calls[0]["start"] == timedelta(days=1)


def test_account_summary_off_sentinel_says_why_instead_of_a_traceback(nb_local, demo_table, capsys):
    nblt = AnomalousLogonUsers()
    nblt.run(
        data=demo_table, feature_set="seed", options=["-shap", "-plot_outliers", "-plot_trends"]
    )
    capsys.readouterr()
    assert nblt.account_summary() is None
    said = capsys.readouterr().out
    assert "AccountSummary needs a Microsoft Sentinel workspace" in said
    assert "LocalData" in said
    from msticnb_iforest.frontends.browser import OutlierBrowser

    browser = OutlierBrowser(nblt._last_result, nblt.account_summary, show=False)
    browser._on_summary(None)  # the widget's "Run AccountSummary" button: no traceback
    assert "needs a Microsoft Sentinel workspace" in capsys.readouterr().out
