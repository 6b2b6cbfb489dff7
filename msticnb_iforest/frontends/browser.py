"""
An ipywidgets view for walking through the outliers of a result.

Names and reasons come from the data: every one shown (option labels, the
reason panel) is made safe with `display.safe_text` first, and the panel's
HTML is escaped as well.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from ..present import plots
from ..present.display import account_label, safe_text
from ..present.figures import trend_figure

__all__ = ["OutlierBrowser"]


def _figure_png(fig: Any) -> bytes:
    if isinstance(fig, bytes | bytearray):  # drawn as PNG already
        return bytes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _option(row: Any) -> str:
    """Return the dropdown label of an outlier: day, account (made safe, cut) and score."""
    return f"{row.Date:%Y-%m-%d}  {account_label(row.DstDomain, row.DstUser)}  ({row.score:.3f})"


class OutlierBrowser:
    """
    Pick an outlier; see its reason, SHAP chart and trend; run AccountSummary.

    Every outlier can be browsed: charts of outliers beyond the run's plot
    cap (``max_plots``) are drawn when first selected.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished result.
    run_summary : callable
        Called with an account name when the AccountSummary button is pressed.
    show : bool, default=True
        Display the widget at once.

    """

    def __init__(self, result: Any, run_summary: Callable[[str], Any], show: bool = True):
        self.result = result
        # PNGs by outlier or account: charts beyond the result's plot cap are
        # drawn when first selected, then reused.
        self._drawn: dict[tuple, bytes] = {}
        self._run_summary = run_summary
        outliers = result.outliers
        options = [
            (_option(row), idx)
            for idx, row in zip(outliers.index, outliers.itertuples(), strict=True)
        ]
        self.select = widgets.Select(options=options, rows=min(10, max(len(options), 2)))
        self.reason = widgets.HTML()
        self.shap_image = widgets.Image(format="png")
        self.trend_image = widgets.Image(format="png")
        self.button = widgets.Button(description="Run AccountSummary", icon="search")
        self.output = widgets.Output()
        self.button.on_click(self._on_summary)
        self.select.observe(self._on_select, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.select, self.reason]),
                widgets.HBox([self.shap_image, self.trend_image]),
                self.button,
                self.output,
            ]
        )
        if options:
            self._show(options[0][1])
        else:
            self.reason.value = "<b>No outliers to browse.</b>"
        if show:
            display(self.widget)

    def _on_select(self, change: dict) -> None:
        self._show(change["new"])

    def _show(self, idx: Any) -> None:
        from html import escape

        self.select.value = idx
        row = self.result.outliers.loc[idx]
        explanations = self.result.explanations
        if explanations is not None and idx in explanations.index:
            reason = str(explanations.loc[idx, "reason"])
        else:
            limit = (self.result.parameters or {}).get("max_explained")
            reason = (
                f"(Not explained: explanations cover the top {limit:,} outlier(s) by "
                "score; raise max_explained to explain more.)"
                if isinstance(limit, int)
                else ""
            )
        self.reason.value = (
            f"<b>{escape(safe_text(row['DstDomain']))}\\{escape(safe_text(row['DstUser']))}</b>"
            f" on {row['Date']:%Y-%m-%d}, score {row['score']:.3f}<br>{escape(safe_text(reason))}"
        )
        self.shap_image.value = self._shap_png(idx, row)
        self.trend_image.value = self._trend_png(row)

    def _shap_png(self, idx: Any, row: Any) -> bytes:
        """Return the outlier's SHAP chart: the one drawn, else drawn now if it has SHAP values."""
        label = f"{row['DstDomain']}\\{row['DstUser']} {row['Date']:%Y-%m-%d}"
        key = ("shap", idx)
        if key not in self._drawn:
            fig = dict(self.result.outlier_plots).get(label)
            shap = self.result.shap_values
            if fig is None and shap is not None and idx in shap.index:
                title = (
                    f"{account_label(row['DstDomain'], row['DstUser'])} "
                    f"{row['Date']:%Y-%m-%d} (score {row['score']:.3f})"
                )
                fig = plots.outlier_plot(
                    shap.loc[idx], row[self.result.features], title, self.result.shap_expected_value
                )
            self._drawn[key] = b"" if fig is None else _figure_png(fig)
        return self._drawn[key]

    def _trend_png(self, row: Any) -> bytes:
        """Return the account's trend chart: the one drawn, else drawn now."""
        domain, user = str(row["DstDomain"]), str(row["DstUser"])
        key = ("trend", domain, user)
        if key not in self._drawn:
            fig = dict(self.result.trend_plots).get(f"{domain}\\{user}")
            if fig is None and self.result.user_days is not None:
                fig = trend_figure(self.result, domain, user)
            self._drawn[key] = b"" if fig is None else _figure_png(fig)
        return self._drawn[key]

    def _on_summary(self, _button: Any) -> None:
        idx = self.select.value
        if idx is None:
            return
        with self.output:
            self.output.clear_output()
            self._run_summary(str(self.result.outliers.loc[idx, "DstUser"]))
