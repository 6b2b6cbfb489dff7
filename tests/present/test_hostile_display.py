r"""
Hostile names on their way to a person's eyes: terminal, report, widget, plots.

An attacker chooses the account name of a failed logon. A right-to-left
override makes ``admin\u202egnp.exe`` read as ``adminexe.png``, zero-width
characters make two names look alike, control characters drive the
terminal, and a name of a million characters made each plot title take
minutes. Everything shown is escaped with `display.safe_text` (and cut to a
label width in plots and widgets); the DataFrames and CSV files keep the
exact names. Plots are bounded in number (`MAX_PLOTS_LIMIT`) and, on the
command line, rendered to PNG bytes as they are drawn.
"""

from __future__ import annotations

import gc
import json
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.frontends import cli
from msticnb_iforest.params import MAX_PLOTS_LIMIT
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present import figures as pipeline
from msticnb_iforest.present.display import LABEL_WIDTH, TITLE_WIDTH, account_label, safe_text
from msticnb_iforest.present.figures import Figures, make_plots

from ..capped import assert_clean_exit, run_cli
from ..widget_parts import part

RLO = "\u202e"
SPOOF = f"admin{RLO}gnp.exe"  # shown by a browser as "adminexe.png"
INVISIBLE = "zero\u200bwidth\ufeffbom\u2060joiner\u200d"
CONTROLS = "svc\x00\x1b[31m\x07\r\x7f\x9bend"


def _hidden(text: str) -> list[str]:
    """Characters that would not be shown as themselves (LF, the line break, allowed)."""
    return [
        ch
        for ch in text
        if ch != "\n" and (unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})
    ]


def _renamed(table: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """The demo table with its two seed outliers' accounts renamed."""
    return table.assign(
        DstUser=table["DstUser"].replace({"SVC-ACC-02": first, "SRVACC-04": second})
    )


def _write_jsonl(frame: pd.DataFrame, path: Path) -> Path:
    """JSON lines keep every character of a name (a CSV reader may split on CR)."""
    frame.to_json(path, orient="records", lines=True)
    return path


def _user_day_table(
    n_accounts: int, n_days: int, outlier_name: str | None = None, seed: int = 0
) -> pd.DataFrame:
    """A per-user-day table; with `outlier_name`, that account has one extreme day."""
    rng = np.random.default_rng(seed)
    users = [f"user{i:04d}" for i in range(n_accounts)]
    if outlier_name is not None:
        users[0] = outlier_name
    dates = pd.date_range("2024-03-01", periods=n_days, freq="D").strftime("%Y-%m-%d")
    rows = n_accounts * n_days
    table = pd.DataFrame(
        {
            "Date": np.tile(dates, n_accounts),
            "DstDomain": "CONTOSO",
            "DstUser": np.repeat(users, n_days),
            "SuccessfulLogons": rng.poisson(20, rows),
            "FailedLogons": rng.poisson(1, rows),
            "ComputersSuccessfulAccess": rng.poisson(2, rows) + 1,
            "SrcIpSuccessfulAccess": rng.poisson(2, rows) + 1,
        }
    )
    if outlier_name is not None:
        table.loc[n_days - 1, ["SuccessfulLogons", "FailedLogons"]] = [900, 400]
        table.loc[n_days - 1, ["ComputersSuccessfulAccess", "SrcIpSuccessfulAccess"]] = [60, 70]
    return table


# --------------------------------------------------------------------------
# The helper
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (SPOOF, "admin\\u202egnp.exe"),
        ("a\u202a\u202b\u202c\u202db", "a\\u202a\\u202b\\u202c\\u202db"),
        ("a\u2066\u2067\u2068\u2069b", "a\\u2066\\u2067\\u2068\\u2069b"),
        ("a\u200e\u200f\u061cb", "a\\u200e\\u200f\\u061cb"),
        (INVISIBLE, "zero\\u200bwidth\\ufeffbom\\u2060joiner\\u200d"),
        (CONTROLS, "svc\\x00\\x1b[31m\\x07\\x0d\\x7f\\x9bend"),
        ("line\nbreak\ttab", "line\\x0abreak\\x09tab"),
        ("a\u2028b\u2029c\u00a0d", "a\\u2028b\\u2029c\\xa0d"),
        ("hangul\u3164filler\U000e0041tag", "hangul\\u3164filler\\U000e0041tag"),
        ("soft\u00adhyphen\ufe0f", "soft\\xadhyphen\\ufe0f"),
    ],
)
def test_safe_text_escapes_what_would_not_show(value, shown):
    assert safe_text(value) == shown


@pytest.mark.parametrize("name", ["alice", "Zoë", "名前", 'o"q\\x', "<b>tag</b>", "a b", ""])
def test_safe_text_keeps_ordinary_names(name):
    assert safe_text(name) == name


def test_safe_text_cuts_long_text_but_never_inside_an_escape():
    assert safe_text("x" * 1_000_000, 60) == "x" * 59 + "…"
    assert safe_text("abc", 3) == "abc"
    assert safe_text("abcd", 3) == "ab…"
    cut = safe_text("ab" + RLO * 10, 9)  # "ab\u202e" is 8 characters, one more does not fit
    assert cut == "ab\\u202e…"
    assert len(safe_text("\x1b" * 100, 10)) <= 10
    label = account_label("D" * 500, "u" * 500)
    assert len(label) <= LABEL_WIDTH and "\\u" in label  # the user name is still seen


def test_cli_printable_is_the_display_helper():
    assert cli._printable("a\x1bb\u202ec") == "a\\x1bb\\u202ec"
    assert cli._printable("y" * 100, 40) == "y" * 39 + "…"


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------
def _texts(fig: Figure) -> list[str]:
    return [text.get_text() for text in fig.findobj(Text)]


def test_plot_text_is_escaped_and_cut(demo_table):
    long_spoof = SPOOF + "x" * 5000
    found = hunt(_renamed(demo_table, long_spoof, CONTROLS + INVISIBLE), feature_set="seed")
    assert {long_spoof, CONTROLS + INVISIBLE} <= set(found.outliers["DstUser"])  # exact names
    figures = make_plots(found, histogram=True)
    assert len(figures.outlier_plots) == 2 and len(figures.trend_plots) == 2
    figs = [fig for _, fig in figures.outlier_plots + figures.trend_plots]
    texts = [text for fig in figs for text in _texts(fig)]
    assert not _hidden("".join(texts))
    assert not any("x" * LABEL_WIDTH in text for text in texts)  # the name is cut
    assert max(map(len, texts)) <= TITLE_WIDTH + 50  # a label and the plot's own words
    assert any("admin\\u202egnp.exe" in text for text in texts)
    assert any("\\u200b" in text and "\\x1b" in text for text in texts)
    # The labels (keys for the browser) keep the exact names.
    assert any(long_spoof in label for label, _ in figures.outlier_plots)


# --------------------------------------------------------------------------
# How many plots, and how much memory they hold
# --------------------------------------------------------------------------
def test_make_plots_asks_for_more_plots_than_are_explained(demo_table):
    found = hunt(demo_table, feature_set="seed", contamination=0.1, max_explained=3)
    assert len(found.outliers) > 3 and len(found.shap_values) == 3
    figures = make_plots(found, max_plots=len(found.outliers) + 5)
    assert [label for label, _ in figures.outlier_plots] == [
        f"{d}\\{u} {pd.Timestamp(t):%Y-%m-%d}"
        for d, u, t in found.outliers.head(3)[["DstDomain", "DstUser", "Date"]].to_numpy()
    ]
    accounts = found.outliers[["DstDomain", "DstUser"]].drop_duplicates()
    assert len(figures.trend_plots) == len(accounts)
    assert "drawn for the 3 explained outlier(s)" in figures.plot_note


def test_cli_max_plots_above_max_explained(demo_table, tmp_path, capsys):
    path = tmp_path / "days.csv"
    demo_table.to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--feature-set", "seed", "-q"]
    assert cli.main([*argv, "--contamination", "0.1", "--max-explained", "2"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "drawn for the 2 explained outlier(s)" in html


@pytest.mark.parametrize("bad", [MAX_PLOTS_LIMIT + 1, 500, 10**9, -1, 2.5, True])
def test_make_plots_checks_max_plots(demo_table, bad):
    found = hunt(demo_table, feature_set="seed", shap=False)
    with pytest.raises(
        ParameterError, match=rf"max_plots must be an integer in \[0, {MAX_PLOTS_LIMIT}\]"
    ):
        make_plots(found, max_plots=bad)


def test_make_plots_as_png_holds_no_figure(demo_table):
    found = hunt(demo_table, feature_set="seed", contamination=0.05)
    gc.collect()
    before = sum(isinstance(obj, Figure) for obj in gc.get_objects())
    figures = make_plots(found, histogram=True, max_plots=5, as_png=True)
    gc.collect()
    assert sum(isinstance(obj, Figure) for obj in gc.get_objects()) == before
    drawn = [figures.shap_summary_plot, figures.score_histogram]
    drawn += [png for _, png in figures.outlier_plots + figures.trend_plots]
    assert len(drawn) > 4
    assert all(isinstance(png, bytes) and png[:8] == b"\x89PNG\r\n\x1a\n" for png in drawn)


def test_cli_renders_plots_as_they_are_drawn(demo_table, tmp_path, monkeypatch, capsys):
    seen = []
    draw = pipeline.make_plots

    def _spy(*args, **kwargs):
        figures = draw(*args, **kwargs)
        seen.append(figures)
        return figures

    monkeypatch.setattr(pipeline, "make_plots", _spy)
    path = tmp_path / "days.csv"
    demo_table.to_csv(path, index=False)
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--feature-set", "seed"]) == 0
    (figures,) = seen
    kept = [figures.shap_summary_plot, figures.score_histogram]
    kept += [fig for _, fig in figures.outlier_plots + figures.trend_plots]
    kept += [fig for fig in (figures.population_plot, figures.correlation_plot) if fig is not None]
    assert kept and all(isinstance(fig, bytes) for fig in kept)
    assert (out / "report.html").read_text(encoding="utf-8").count("<img") == len(kept)


@pytest.fixture(scope="module")
def many_outliers(tmp_path_factory) -> Path:
    """A per-user-day table on which contamination 0.3 reports more than 500 outliers."""
    table = _user_day_table(300, 10)
    found = hunt(table, contamination=0.3, shap=False, n_estimators=50)
    assert len(found.outliers) > 500
    path = tmp_path_factory.mktemp("many") / "days.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("max_plots", ["500", "501"])
def test_cli_many_plots_are_refused_before_any_work(many_outliers, tmp_path, max_plots):
    run = run_cli(
        "run",
        many_outliers,
        "--out",
        tmp_path / "out",
        "--contamination",
        "0.3",
        "--max-plots",
        max_plots,
        memory_mb=3072,
        timeout=90,
    )
    assert_clean_exit(run, allowed=(2,))
    (line,) = run.error_lines
    assert "--max-plots" in line and f"[0, {MAX_PLOTS_LIMIT}]" in line and max_plots in line
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# A name of a million characters
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_million_character_name_draws_quickly(tmp_path):
    name = "x" * 1_000_000
    path = tmp_path / "days.csv"
    _user_day_table(40, 12, outlier_name=name).to_csv(path, index=False)
    out = tmp_path / "out"
    # Before names were cut, each figure showing this name took minutes to lay out.
    run = run_cli("run", path, "--out", out, "-q", "--max-plots", "1", timeout=120)
    assert_clean_exit(run, allowed=(0,))
    assert len(run.stdout) < 1000
    outliers = pd.read_csv(out / "outliers.csv")
    assert outliers.loc[0, "DstUser"] == name  # the tables keep the whole name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"CONTOSO\\{name}</td>" in html
    assert html.count("<img") >= 3  # SHAP summary, the outlier's chart, its trend


# --------------------------------------------------------------------------
# Report, widget and terminal
# --------------------------------------------------------------------------
def test_report_shows_spoofing_characters_escaped(demo_table, tmp_path, capsys):
    path = _write_jsonl(_renamed(demo_table, SPOOF, INVISIBLE), tmp_path / f"logons{RLO}lmth.jsonl")
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--feature-set", "seed", "-q"]
    assert cli.main([*argv, "--allow-account", f"evil{RLO}\u200b*"]) == 0
    capsys.readouterr()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not _hidden(html), sorted(set(_hidden(html)))
    assert "admin\\u202egnp.exe" in html
    assert "zero\\u200bwidth\\ufeffbom\\u2060joiner\\u200d" in html
    assert "logons\\u202elmth.jsonl" in html  # the input file's name
    assert "evil\\u202e\\u200b*" in html  # parameters and the command line
    # The data keep the exact names.
    outliers = pd.read_csv(out / "outliers.csv")
    assert {SPOOF, INVISIBLE} <= set(outliers["DstUser"])
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["parameters"]["allow_accounts"] == [f"evil{RLO}\u200b*"]


def test_report_shows_a_reason_or_note_escaped(demo_table, tmp_path):
    from msticnb_iforest.present.outputs import write_outputs

    found = hunt(demo_table, feature_set="seed")
    idx = found.outliers.index[0]
    found.explanations.loc[idx, "reason"] = f"reason{RLO}\x1b[2J"
    found.notes.append(f"note\u2066{RLO}\x07")
    paths = write_outputs(found, tmp_path, figures=Figures(), run_info={"query": f"q{RLO}\nline2"})
    html = paths["report"].read_text(encoding="utf-8")
    assert not _hidden(html)
    assert "reason\\u202e\\x1b[2J" in html and "note\\u2066\\u202e\\x07" in html
    assert "q\\u202e\nline2" in html  # a query keeps its line breaks


def test_browser_shows_names_escaped(nb_local, demo_table):
    from msticnb_iforest import AnomalousLogonUsers

    long_spoof = SPOOF + "y" * 500
    nblt = AnomalousLogonUsers()
    nblt.run(data=_renamed(demo_table, long_spoof, INVISIBLE + CONTROLS), feature_set="seed")
    box = nblt.browse_outliers()
    select, reason = part(box, "alu-pick"), part(box, "alu-reason")
    labels = [label for label, _ in select.options]
    assert len(labels) == 2
    assert not _hidden("".join(labels))
    status = len("[recurring]  ")  # the longest status mark
    assert max(map(len, labels)) < LABEL_WIDTH + 30 + status  # day, account label, score
    assert any("admin\\u202egnp.exe" in label for label in labels)
    for _, idx in select.options:
        select.value = idx
        assert not _hidden(reason.value)
        assert "\\u202e" in reason.value or "\\u200b" in reason.value
        assert part(box, "alu-shap").value[:4] == b"\x89PNG"


def _control_chars(text: str) -> list[str]:
    """C0 and C1 controls and DEL other than LF, plus format (bidi, zero-width) characters."""
    return [
        ch
        for ch in text
        if ch != "\n"
        and (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or unicodedata.category(ch) == "Cf")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["-q"], ["-v"], []], ids=["quiet", "verbose", "plain"])
def test_cli_streams_carry_no_control_characters(demo_table, tmp_path, flags):
    table = _renamed(demo_table, CONTROLS, f"srv\x1b]0;title\x07{RLO}\x00")
    path = _write_jsonl(table, tmp_path / "logons.jsonl")
    run = run_cli("run", path, "--out", tmp_path / "out", "--feature-set", "seed", *flags)
    assert_clean_exit(run, allowed=(0,))
    assert not _control_chars(run.stdout), sorted(set(_control_chars(run.stdout)))
    assert not _control_chars(run.stderr), sorted(set(_control_chars(run.stderr)))
    if flags == ["-q"]:
        assert run.stderr == ""
    if flags == ["-v"]:
        assert "CONTOSO\\svc\\x00\\x1b[31m\\x07" in run.stdout


def test_cli_warnings_are_one_escaped_line(tmp_path, capsys):
    import warnings

    def _warns(args, argv, progress):
        warnings.warn("Glyph 27 (\x1b) missing\nfrom font", UserWarning, stacklevel=1)
        return 0

    for quiet in (False, True):
        args = cli.build_parser().parse_args(["run", "x", "--out", str(tmp_path)])
        args.quiet = quiet
        assert cli._with_warnings_shown_safely(_warns, args, [], None) == 0
        err = capsys.readouterr().err
        if quiet:
            assert err == ""
        else:
            assert err == (
                "msticnb-iforest: warning: Glyph 27 (\\x1b) missing from font (UserWarning)\n"
            )
