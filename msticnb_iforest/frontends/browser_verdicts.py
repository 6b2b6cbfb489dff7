"""
The outlier browser's verdict controls: mark what is shown benign or malicious.

A note, a scope (this day, this evidence, this account) and two buttons
that call the result's ``set_verdict`` for the outlier shown, or for the
incident picked in the incident list (all its outliers). The verdict is
recorded in the hunt's state store at once; later runs hide what a benign
verdict covers and mark what a malicious one covers. A result that ran
without a state store cannot record one: the buttons are disabled and
their tooltip says why. Whatever ``set_verdict`` answers (rows written, or
its error) is shown below the buttons as one line.

The parts carry CSS classes ``alu-verdict``, ``alu-verdict-target``,
``alu-verdict-note``, ``alu-verdict-scope``, ``alu-benign``,
``alu-malicious`` and ``alu-verdict-outcome``.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..present.display import safe_text

__all__ = ["SCOPES", "VerdictControls", "no_state_reason"]

#: The scope list: label shown, ``scope`` passed to ``set_verdict``.
SCOPES = (
    ("this day only", "day"),
    ("this evidence, any day", "evidence"),
    ("this account, known sources", "account"),
)

#: Most finding ids named in an outcome line.
NAMED_FINDINGS = 5


def no_state_reason(result: Any) -> str | None:
    """
    Return why `result` cannot record a verdict, or None when it can.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> no_state_reason(SimpleNamespace(state_path=None))
    'This hunt ran without state: pass state=PATH to run to record verdicts.'
    >>> no_state_reason(SimpleNamespace(state_path="hunt.sqlite", set_verdict=print)) is None
    True

    """
    if not getattr(result, "state_path", None):
        return "This hunt ran without state: pass state=PATH to run to record verdicts."
    if not callable(getattr(result, "set_verdict", None)):
        return "This result cannot record verdicts (it has no set_verdict)."
    return None


def _one_line(value: Any, width: int = 300) -> str:
    """Return any text as one escaped line, made safe to show."""
    return escape(safe_text(" ".join(str(value).split()), width))


class VerdictControls:
    """
    A note, a scope and Benign / Malicious buttons that call ``result.set_verdict``.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The result whose ``set_verdict`` records the verdicts.
    target : callable
        Returns the keywords naming what the verdict covers, e.g.
        ``{"finding": "3f2a9c0d1e4b"}`` or ``{"incident": 2}``, and a label
        for it; raises ValueError (its message shown) when nothing can be named.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The controls (class ``alu-verdict``).
    note, scope, benign, malicious, outcome, target_label
        The note Text, the scope Dropdown, the two buttons, the outcome HTML
        and the line naming what a verdict would cover.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> found = SimpleNamespace(state_path=None)
    >>> controls = VerdictControls(found, lambda: ({"finding": "ab"}, "ab"))
    >>> controls.benign.disabled
    True

    """

    def __init__(self, result: Any, target: Callable[[], tuple[dict[str, Any], str]]):
        self.result = result
        self._target = target
        self.target_label = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.note = widgets.Text(
            placeholder="why: kept with the verdict",
            description="Note",
            layout=widgets.Layout(width="auto", flex="1 1 220px", max_width="100%"),
        )
        self.scope = widgets.Dropdown(
            options=SCOPES,
            value="evidence",
            description="Scope",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto", max_width="100%"),
        )
        self.benign = widgets.Button(description="Benign", icon="check", button_style="success")
        self.malicious = widgets.Button(
            description="Malicious", icon="exclamation-triangle", button_style="danger"
        )
        self.outcome = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        why_not = no_state_reason(result)
        for button, verdict in ((self.benign, "benign"), (self.malicious, "malicious")):
            button.layout = widgets.Layout(width="auto", max_width="100%")
            button.disabled = why_not is not None
            button.tooltip = why_not or f"Record a {verdict} verdict in the hunt's state store"
            button.on_click(lambda _button, verdict=verdict: self.record(verdict))
        if why_not:
            self.outcome.value = f'<span style="color: #52606d">{escape(why_not)}</span>'
        row = widgets.Box(
            [self.note, self.scope, self.benign, self.malicious],
            layout=widgets.Layout(
                display="flex", flex_flow="row wrap", align_items="center", width="100%"
            ),
        )
        self.widget = widgets.VBox(
            [self.target_label, row, self.outcome],
            layout=widgets.Layout(width="100%", max_width="100%"),
        )
        for part, name in [
            (self.widget, "alu-verdict"),
            (self.target_label, "alu-verdict-target"),
            (self.note, "alu-verdict-note"),
            (self.scope, "alu-verdict-scope"),
            (self.benign, "alu-benign"),
            (self.malicious, "alu-malicious"),
            (self.outcome, "alu-verdict-outcome"),
        ]:
            part.add_class(name)

    def refresh(self) -> None:
        """Name what a verdict would cover now (the shown outlier or the picked incident)."""
        try:
            _, label = self._target()
        except ValueError as err:
            self.target_label.value = f"<i>Verdict: {_one_line(err)}</i>"
            return
        self.target_label.value = f"<b>Verdict on</b> {_one_line(label)}"

    def record(self, verdict: str) -> pd.DataFrame | None:
        """
        Record `verdict` ("benign" or "malicious") for the current target; show what happened.

        Returns
        -------
        pd.DataFrame or None
            The verdict rows ``set_verdict`` wrote; None when it failed (the
            outcome line shows its message) or cannot run.

        """
        why_not = no_state_reason(self.result)
        try:
            if why_not:
                raise ValueError(why_not)
            keywords, label = self._target()
            written = self.result.set_verdict(
                **keywords, verdict=verdict, note=self.note.value, scope=self.scope.value
            )
        except Exception as err:  # shown as one line, never a traceback
            self.outcome.value = (
                f'<span style="color: #b42318">Verdict not recorded: {_one_line(err)}</span>'
            )
            return None
        self.outcome.value = self._done(verdict, label, written)
        return written

    def _done(self, verdict: str, label: str, written: Any) -> str:
        """Return the outcome line of a recorded verdict."""
        count = len(written) if isinstance(written, pd.DataFrame) else None
        ids = ""
        if isinstance(written, pd.DataFrame) and "finding" in written.columns:
            names = [str(name) for name in written["finding"].head(NAMED_FINDINGS)]
            more = len(written) - len(names)
            ids = ": " + ", ".join(names) + (f" and {more:,} more" if more > 0 else "")
        rows = "" if count is None else f" ({count:,} finding(s){ids})"
        rows = f" {_one_line(rows)}" if rows else ""
        after = (
            "later runs do not report what it covers"
            if verdict == "benign"
            else "later runs mark what it covers as malicious"
        )
        scope = escape(str(self.scope.value))
        return (
            f'<span style="color: #1e7e34">Recorded <b>{escape(verdict)}</b> (scope {scope}) '
            f"for {_one_line(label)}{rows}; {after}.</span>"
        )
