"""An ipywidgets view for walking through the outliers of a result."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from IPython.display import display

__all__ = ["OutlierBrowser"]


def _figure_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


class OutlierBrowser:
    """
    Pick an outlier; see its reason, SHAP chart and trend; run AccountSummary.

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
        self._run_summary = run_summary
        outliers = result.outliers
        options = [
            (f"{row.Date:%Y-%m-%d}  {row.DstDomain}\\{row.DstUser}  ({row.score:.3f})", idx)
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
        reason = ""
        if self.result.explanations is not None and idx in self.result.explanations.index:
            reason = self.result.explanations.loc[idx, "reason"]
        self.reason.value = (
            f"<b>{escape(str(row['DstDomain']))}\\{escape(str(row['DstUser']))}</b> on "
            f"{row['Date']:%Y-%m-%d}, score {row['score']:.3f}<br>{escape(str(reason))}"
        )
        label = f"{row['DstDomain']}\\{row['DstUser']} {row['Date']:%Y-%m-%d}"
        shap_figs = dict(self.result.outlier_plots)
        trend_figs = dict(self.result.trend_plots)
        self.shap_image.value = _figure_png(shap_figs[label]) if label in shap_figs else b""
        account = f"{row['DstDomain']}\\{row['DstUser']}"
        self.trend_image.value = _figure_png(trend_figs[account]) if account in trend_figs else b""

    def _on_summary(self, _button: Any) -> None:
        idx = self.select.value
        if idx is None:
            return
        with self.output:
            self.output.clear_output()
            self._run_summary(str(self.result.outliers.loc[idx, "DstUser"]))
