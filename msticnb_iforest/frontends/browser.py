"""
An ipywidgets view for walking through the incidents and outliers of a result.

Names and reasons come from the data: every one shown (option labels, the
reason panel) is made safe with `display.safe_text` first, and the panel's
HTML is escaped as well.

Layout: the widget fits the width it is given. The pick list and the reason
panel wrap onto two lines when they do not fit side by side; the two charts
are shown at their own size, shrunk (never stretched) to the width available
with their aspect ratio kept, side by side when both fit, else one above the
other. Only standard widgets and their layout properties are used, so the
view looks the same in JupyterLab and in VS Code's notebooks. The parts carry
CSS classes (``alu-browser``, ``alu-incident``, ``alu-pick``, ``alu-reason``,
``alu-summary``, ``alu-output``, ``alu-charts``, ``alu-shap``, ``alu-trend``,
and those of the verdict controls, `browser_verdicts`) so that a page test
can find them.

When the hunt marked its outliers and incidents (``status``: new,
recurring or seen), each option label shows the status (``[new]``), and
the verdict controls record an analyst's verdict on the shown outlier or
the picked incident (`browser_verdicts.VerdictControls`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from ..present.display import account_label, safe_text
from ..present.figures import outlier_figure, trend_figure
from ..present.status import has_status, statuses
from .browser_verdicts import VerdictControls

__all__ = ["OutlierBrowser", "incident_numbers"]

#: Narrowest and widest pick list, in characters; it shrinks to the width available.
PICK_WIDTH = (34, 96)
#: Most characters of an incident's option label (its lead is shown whole beside).
INCIDENT_LABEL_WIDTH = 110
#: The option of the incident list that shows every outlier.
ALL_INCIDENTS = 0


def _figure_png(fig: Any) -> bytes:
    if isinstance(fig, bytes | bytearray):  # drawn as PNG already
        return bytes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _option(row: Any, incident: int | None = None, status: str | None = None) -> str:
    """Return an outlier's pick list label: incident, status, day, account (safe, cut), score."""
    head = "" if incident is None else f"#{incident}  "
    head += "" if status is None else f"[{status}]  "
    return (
        f"{head}{row.Date:%Y-%m-%d}  {account_label(row.DstDomain, row.DstUser)}  ({row.score:.3f})"
    )


def _pick_width(options: list[tuple[str, Any]]) -> str:
    """Return a pick list width that shows its longest label whole (CSS ``ch`` units)."""
    longest = max((len(label) for label, _ in options), default=0)
    low, high = PICK_WIDTH
    return f"{min(max(longest + 4, low), high)}ch"


def _image_layout() -> widgets.Layout:
    """Return the layout of a chart: its own size, shrunk to fit, aspect ratio kept."""
    return widgets.Layout(
        width="auto", max_width="100%", height="auto", object_fit="contain", flex="0 1 auto"
    )


def _incidents(result: Any) -> pd.DataFrame | None:
    """Return the result's incidents (one row each), or None when it has none."""
    frame = getattr(result, "incidents", None)
    if not isinstance(frame, pd.DataFrame) or frame.empty or "incident" not in frame.columns:
        return None
    return frame


def incident_numbers(result: Any) -> pd.Series | None:
    """
    Return the incident of each outlier of `result`, by outlier row label.

    Read from the outliers' ``incident`` column, else from the incidents'
    ``members`` (the member outliers' row labels joined by ", ").

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt, with or without incidents.

    Returns
    -------
    pd.Series or None
        Incident number (int, 0 for an outlier in no incident) indexed like
        ``result.outliers``; None when the result has no incidents.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> result = SimpleNamespace(
    ...     outliers=pd.DataFrame({"score": [0.3, 0.2, 0.1]}, index=[7, 3, 9]),
    ...     incidents=pd.DataFrame({"incident": [1, 2], "members": ["3, 7", "9"]}),
    ... )
    >>> incident_numbers(result).tolist()
    [1, 1, 2]

    """
    incidents = _incidents(result)
    outliers = result.outliers
    if incidents is None or outliers is None:
        return None
    if "incident" in outliers.columns:
        numbers = pd.to_numeric(outliers["incident"], errors="coerce")
        return numbers.fillna(0).astype(int)
    members = incidents.get("members", pd.Series("", index=incidents.index))
    exploded = (
        incidents[["incident"]]
        .assign(label=members.fillna("").astype(str).str.split(", "))
        .reset_index(drop=True)
        .explode("label")
    )
    by_label = exploded.drop_duplicates("label").set_index("label")["incident"]
    found = by_label.reindex(outliers.index.map(str)).fillna(0).astype(int)
    return pd.Series(found.to_numpy(), index=outliers.index)


class OutlierBrowser:
    """
    Pick an incident and an outlier; see its reason, SHAP chart and trend; run AccountSummary.

    Every outlier can be browsed: charts of outliers beyond the run's plot
    cap (``max_plots``) are drawn when first selected. When the result has
    incidents, a list of them above the pick list shows one incident's
    outliers at a time (or all), and the pick list is grouped by incident.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished result.
    run_summary : callable
        Called with an account name when the AccountSummary button is pressed;
        what it prints is shown under the button (an error as one line).
    show : bool, default=True
        Display the widget at once.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole view (CSS class ``alu-browser``).
    incident : ipywidgets.Dropdown or None
        The incident list (class ``alu-incident``); None without incidents.
    select : ipywidgets.Select
        The pick list of outliers (class ``alu-pick``).
    reason, shap_image, trend_image, button, output
        The reason panel, the two charts, the AccountSummary button and its output.
    verdicts : VerdictControls
        The note, scope and Benign / Malicious buttons (``result.set_verdict``);
        disabled, saying why, for a result without ``state_path``.

    """

    def __init__(self, result: Any, run_summary: Callable[[str], Any], show: bool = True):
        self.result = result
        # PNGs by outlier or account: charts beyond the result's plot cap are
        # drawn when first selected, then reused.
        self._drawn: dict[tuple, bytes] = {}
        self._run_summary = run_summary
        self._incident_rows = _incidents(result)
        self._numbers = incident_numbers(result)
        self._all = self._options(None)
        self.incident = self._incident_list()
        self.select = widgets.Select(
            options=self._all,
            rows=min(10, max(len(self._all), 2)),
            layout=widgets.Layout(width=_pick_width(self._all), max_width="100%", flex="0 1 auto"),
        )
        self.reason = widgets.HTML(layout=widgets.Layout(flex="0 0 auto", max_width="100%"))
        self.shap_image = widgets.Image(format="png", layout=_image_layout())
        self.trend_image = widgets.Image(format="png", layout=_image_layout())
        self.button = widgets.Button(
            description="Run AccountSummary",
            icon="search",
            tooltip="Run msticnb's AccountSummary for the picked outlier's account",
            layout=widgets.Layout(width="auto", max_width="100%"),
        )
        self.output = widgets.Output(layout=widgets.Layout(max_width="100%"))
        self.verdicts = VerdictControls(result, self._verdict_target)
        self.button.on_click(self._on_summary)
        self.select.observe(self._on_select, names="value")
        self.widget = self._assemble()
        if self._all:
            self._show(self._all[0][1])
        else:
            self.reason.value = "<b>No outliers to browse.</b>"
            self._set_image(self.shap_image, b"")
            self._set_image(self.trend_image, b"")
            self.verdicts.refresh()
        if show:
            display(self.widget)

    def _assemble(self) -> widgets.VBox:
        """Lay the parts out and give each its CSS class."""
        details = widgets.VBox(
            [self.reason, self.button, self.output, self.verdicts.widget],
            layout=widgets.Layout(flex="1 1 320px", min_width="0", max_width="100%"),
        )
        head = widgets.Box(
            [self.select, details],
            layout=widgets.Layout(
                display="flex", flex_flow="row wrap", align_items="flex-start", width="100%"
            ),
        )
        charts = widgets.Box(
            [self.shap_image, self.trend_image],
            layout=widgets.Layout(
                display="flex", flex_flow="row wrap", align_items="flex-start", width="100%"
            ),
        )
        parts = [self.incident, head, charts] if self.incident is not None else [head, charts]
        box = widgets.VBox(parts, layout=widgets.Layout(width="100%", max_width="100%"))
        for part, name in [
            (box, "alu-browser"),
            (self.incident, "alu-incident"),
            (self.select, "alu-pick"),
            (details, "alu-details"),
            (self.reason, "alu-reason"),
            (self.button, "alu-summary"),
            (self.output, "alu-output"),
            (charts, "alu-charts"),
            (self.shap_image, "alu-shap"),
            (self.trend_image, "alu-trend"),
        ]:
            if part is not None:
                part.add_class(name)
        return box

    def _options(self, incident: int | None) -> list[tuple[str, Any]]:
        """Return the pick list: every outlier, or those of one incident, grouped by incident."""
        outliers = self.result.outliers
        if outliers is None or outliers.empty:
            return []
        numbers = self._numbers
        marks = statuses(outliers) if has_status(outliers) else None
        if numbers is None:
            return [
                (_option(row, None, None if marks is None else marks.loc[idx]), idx)
                for idx, row in zip(outliers.index, outliers.itertuples(), strict=True)
            ]
        order = numbers.where(numbers > 0, numbers.max() + 1).sort_values(kind="stable")
        if incident:
            order = order[numbers.loc[order.index] == incident]
        rows = outliers.loc[order.index]
        return [
            (
                _option(
                    row, int(numbers.loc[idx]) or None, None if marks is None else marks.loc[idx]
                ),
                idx,
            )
            for idx, row in zip(rows.index, rows.itertuples(), strict=True)
        ]

    def _incident_list(self) -> widgets.Dropdown | None:
        """Return the incident list (every incident, and all of them), or None without incidents."""
        frame = self._incident_rows
        if frame is None:
            return None
        count = 0 if self.result.outliers is None else len(self.result.outliers)
        options = [(f"All {len(frame):,} incident(s) ({count:,} outliers)", ALL_INCIDENTS)]
        marks = statuses(frame) if has_status(frame) else pd.Series("", index=frame.index)
        for number, mark, kind, lead, members in zip(
            frame["incident"],
            marks.map(lambda name: f"[{name}] " if name else ""),
            frame.get("kind", pd.Series("", index=frame.index)),
            frame.get("lead", pd.Series("", index=frame.index)),
            frame.get("n_outliers", pd.Series(0, index=frame.index)),
            strict=True,
        ):
            label = f"#{int(number)} {mark}{kind}, {int(members):,} outlier(s): {lead}"
            options.append((safe_text(label, INCIDENT_LABEL_WIDTH), int(number)))
        dropdown = widgets.Dropdown(
            options=options,
            value=ALL_INCIDENTS,
            description="Incident",
            style={"description_width": "initial"},
            # no side margins: 100% wide plus a margin would scroll sideways
            layout=widgets.Layout(width="100%", max_width="100%", margin="2px 0"),
        )
        dropdown.observe(self._on_incident, names="value")
        return dropdown

    def _on_incident(self, change: dict) -> None:
        options = self._options(change["new"]) or self._all
        self.select.options = options
        self.select.rows = min(10, max(len(options), 2))
        self._show(options[0][1])

    def _on_select(self, change: dict) -> None:
        if change["new"] is not None:
            self._show(change["new"])

    def _show(self, idx: Any) -> None:
        self.select.value = idx
        row = self.result.outliers.loc[idx]
        account = f"{escape(safe_text(row['DstDomain']))}\\{escape(safe_text(row['DstUser']))}"
        self.reason.value = (
            '<div style="line-height: 1.45; white-space: normal; overflow-wrap: anywhere">'
            f"{self._incident_html(idx)}<b>{account}</b> on {row['Date']:%Y-%m-%d}, "
            f"score {row['score']:.3f}<br>{self._reason_html(idx)}</div>"
        )
        self._set_image(self.shap_image, self._shap_png(idx, row))
        self._set_image(self.trend_image, self._trend_png(row))
        self.verdicts.refresh()

    def _verdict_target(self) -> tuple[dict[str, Any], str]:
        """Return what a verdict covers: the picked incident, else the shown outlier's finding."""
        picked = ALL_INCIDENTS if self.incident is None else self.incident.value
        if picked != ALL_INCIDENTS:
            return {"incident": int(picked)}, f"incident {int(picked)} (all its outliers)"
        idx = self.select.value
        if idx is None:
            raise ValueError("no outlier is shown")
        row = self.result.outliers.loc[idx]
        finding = row.get("finding")
        if finding is None or pd.isna(finding) or not str(finding):
            raise ValueError("this result gives its outliers no finding id")
        account = account_label(row["DstDomain"], row["DstUser"])
        return {"finding": str(finding)}, f"{account} on {row['Date']:%Y-%m-%d} (finding {finding})"

    @staticmethod
    def _set_image(image: widgets.Image, png: bytes) -> None:
        """Show `png` in `image`; an image with nothing to show takes no room."""
        image.value = png
        image.layout.display = None if png else "none"

    def _incident_html(self, idx: Any) -> str:
        """Return the line naming the incident of outlier `idx` and its lead, or ""."""
        if self._numbers is None or self._incident_rows is None:
            return ""
        number = int(self._numbers.loc[idx])
        rows = self._incident_rows[self._incident_rows["incident"] == number]
        if rows.empty:
            return ""
        inc = rows.iloc[0]
        what = ", ".join(
            part
            for part in (
                escape(safe_text(inc.get("kind", ""))),
                f"{int(inc['n_outliers']):,} outlier(s)" if "n_outliers" in inc else "",
                f"{int(inc['n_accounts']):,} account(s)" if "n_accounts" in inc else "",
            )
            if part
        )
        lead = escape(safe_text(inc.get("lead", "")))
        return f"<b>Incident {number}</b> ({what}): {lead}<br>"

    def _reason_html(self, idx: Any) -> str:
        """Return the outlier's reason as HTML: its clauses as a list when the result has them."""
        explanations = self.result.explanations
        if explanations is None or idx not in explanations.index:
            limit = (self.result.parameters or {}).get("max_explained")
            return (
                f"(Not explained: explanations cover the top {limit:,} outlier(s) by "
                "score; raise max_explained to explain more.)"
                if isinstance(limit, int)
                else ""
            )
        reason = str(explanations.loc[idx, "reason"])
        clauses = explanations.loc[idx, "clauses"] if "clauses" in explanations.columns else None
        texts = [
            str(item["text"])
            for item in (clauses if isinstance(clauses, list | tuple) else [])
            if isinstance(item, dict) and item.get("text")
        ]
        if not texts:
            return escape(safe_text(reason))
        joined = "; ".join(texts)
        rest = reason[len(joined) :].strip(" ;.") if reason.startswith(joined) else ""
        items = "".join(f"<li>{escape(safe_text(text))}</li>" for text in texts)
        tail = f"{escape(safe_text(rest))}" if rest else ""
        return f'<ul style="margin: 0.2em 0; padding-left: 1.4em">{items}</ul>{tail}'

    def _shap_png(self, idx: Any, row: Any) -> bytes:
        """Return the outlier's SHAP chart: the one drawn, else drawn now if it has SHAP values."""
        label = f"{row['DstDomain']}\\{row['DstUser']} {row['Date']:%Y-%m-%d}"
        key = ("shap", idx)
        if key not in self._drawn:
            fig = dict(self.result.outlier_plots).get(label)
            shap = self.result.shap_values
            if fig is None and shap is not None and idx in shap.index:
                fig = outlier_figure(self.result, idx, row=row)  # labelled in real units
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
            try:
                self._run_summary(str(self.result.outliers.loc[idx, "DstUser"]))
            except Exception as err:  # shown as one line under the button, never a traceback
                detail = " ".join(str(err).split()) or "no detail"
                print(f"AccountSummary could not run: {type(err).__name__}: {detail}")
