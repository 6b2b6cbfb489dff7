"""
The demo's report and the notebook's outlier browser, in a real (headless) Chromium.

The report is opened from disk (``file://``) as an analyst opens it; the notebook runs
in a JupyterLab server that the test starts on 127.0.0.1 and stops. Screenshots go to
``$BROWSER_ARTIFACTS`` (default ``out/browser``). Selenium drives the system's Chromium
through the system's chromedriver (see ``chromium.py``); nothing is downloaded.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from . import chromium as cr
from . import labserver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = cr.ROOT / "notebooks" / "AnomalousLogonUsers.ipynb"
SPRAY_SOURCE = "10.99.60.209"


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """The demo's output files, written by the command line."""
    cr.tools()  # skip (or fail in CI) before spending half a minute on the demo
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "msticnb_iforest.frontends.cli", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cr.ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def report_browser(demo_out):
    with cr.chromium(1366) as driver:
        yield driver


@pytest.fixture
def report(report_browser, demo_out):
    """The report freshly loaded at 1366 px, with the console log emptied."""
    driver = report_browser
    cr.resize(driver, 1366)
    driver.get((demo_out / "report.html").as_uri())
    cr.wait_for(
        lambda: driver.execute_script("return document.readyState") == "complete", 30, "the page"
    )
    driver.get_log("browser")
    return driver


LOAD_IMAGES = """
const images = [...document.images];
for (const img of images) { img.loading = 'eager'; img.scrollIntoView(); }
window.scrollTo(0, 0);
return images.length;
"""
BROKEN_IMAGES = """
return [...document.images].filter((i) => !(i.complete && i.naturalWidth > 0))
  .map((i) => (i.alt || i.src).slice(0, 80));
"""
UNRESOLVED_LINKS = """
const links = [...document.querySelectorAll('a[href^="#"]')].map((a) => a.getAttribute('href'));
return [links.length, links.filter((h) => h.length > 1
  && !document.getElementById(decodeURIComponent(h.slice(1))))];
"""


@pytest.mark.parametrize("width", [1366, 1920])
def test_report_opens_clean(report, width):
    driver = report
    cr.resize(driver, width)
    assert driver.execute_script(LOAD_IMAGES) > 0
    broken = driver.execute_script(BROKEN_IMAGES)
    for _ in range(40):  # data: images decode in a moment; give a busy machine 20 s
        if not broken:
            break
        time.sleep(0.5)
        broken = driver.execute_script(BROKEN_IMAGES)
    assert broken == [], "images that did not load"
    n_links, unresolved = driver.execute_script(UNRESOLVED_LINKS)
    assert n_links > 0
    assert unresolved == [], "in-page links with no element of that id"
    assert cr.console_errors(driver) == []
    assert cr.page_problems(driver) == []
    sideways = driver.execute_script(
        "return [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert sideways[0] <= sideways[1], f"the page scrolls sideways at {width} px: {sideways}"
    cr.screenshot(driver, f"report-{width}")
    if width == 1366:
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
        data = base64.b64decode(pdf["data"])
        assert data.startswith(b"%PDF-")
        (cr.artifacts() / "report.pdf").write_bytes(data)


class _Scripts(HTMLParser):
    """The report's ``<script>`` elements (attributes and text) and its CSP."""

    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.csp = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append((attrs, ""))
            self._in_script = True
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = attrs.get("content") or ""

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def test_report_runs_one_inline_script_allowed_by_its_hash(report, demo_out):
    page = _Scripts()
    page.feed((demo_out / "report.html").read_text(encoding="utf-8"))
    assert len(page.scripts) == 1, f"{len(page.scripts)} <script> elements, wanted one inline"
    attrs, text = page.scripts[0]
    assert "src" not in attrs
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in page.csp.split(";") if part.strip()
    )
    assert directives.get("default-src") == ["'none'"]
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
    assert directives.get("script-src") == [f"'sha256-{digest}'"], directives.get("script-src")
    assert report.execute_script("return document.scripts.length") == 1
    assert cr.page_problems(report) == []
    assert cr.console_errors(report) == []


def _spray_accounts(demo_out: Path) -> int:
    with open(demo_out / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return len(
        {
            (row["DstDomain"], row["DstUser"])
            for row in rows
            if row["attack"] == "password_spray" and SPRAY_SOURCE in row["detail"]
        }
    )


def test_report_leads_with_the_spray_incident(report, demo_out):
    n_accounts = _spray_accounts(demo_out)
    assert n_accounts > 20
    lead = report.execute_script(
        """
        const sections = [...document.querySelectorAll('section')]
          .filter((s) => !s.classList.contains('cards') && !s.parentElement.closest('section'));
        const incidents = document.getElementById('incidents');
        const table = document.querySelector('#incidents table#incident-table');
        const outliers = document.querySelector('table#outlier-table');
        const first = table && table.tBodies[0] && table.tBodies[0].rows[0];
        return {
          first_section: sections.length ? sections[0].id : null,
          top: incidents ? incidents.getBoundingClientRect().top : null,
          height: innerHeight,
          first_row: first ? first.textContent : null,
          incidents: table ? table.tBodies[0].rows.length : null,
          outliers: outliers ? outliers.tBodies[0].rows.length : null,
        };
        """
    )
    assert lead["first_section"] == "incidents", "the first section after the cards"
    assert lead["top"] < lead["height"], "the incidents start on the first screen"
    assert lead["first_row"] is not None, "table#incident-table has no body row"
    assert SPRAY_SOURCE in lead["first_row"]
    assert re.search(rf"\b{n_accounts}\b", lead["first_row"]), (n_accounts, lead["first_row"])
    assert 0 < lead["incidents"] < lead["outliers"]


OUTLIER_ROWS = """
const table = document.querySelector('table#outlier-table');
if (!table) return null;
const col = arguments[0];
return [...table.tBodies[0].rows].map((r) => [r.id, col === null ? null
  : r.cells[col].textContent.trim(), r.hidden, getComputedStyle(r).display === 'none']);
"""
NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _number(text: str) -> float | None:
    found = NUMBER.search(text)
    return None if found is None else float(found.group().replace(",", "").replace("−", "-"))


def _headers(driver, kind: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f'table#outlier-table th[data-sort="{kind}"]')


def _click_sorted(driver, header) -> tuple[str, list]:
    column = driver.execute_script("return arguments[0].cellIndex", header)
    header.click()
    rows = driver.execute_script(OUTLIER_ROWS, column)
    return header.get_attribute("aria-sort"), rows


def test_outlier_table_sorts_by_number_columns(report):
    driver = report
    assert driver.execute_script(OUTLIER_ROWS, None) is not None, "no table#outlier-table"
    initial = [row[0] for row in driver.execute_script(OUTLIER_ROWS, None)]
    headers = _headers(driver, "num")
    assert headers, 'no th[data-sort="num"] in table#outlier-table'
    orders = []
    for header in headers:
        name = header.text
        for click in (1, 2):
            direction, rows = _click_sorted(driver, header)
            assert direction in {"ascending", "descending"}, (name, click, direction)
            values = [_number(text) for _, text, _, _ in rows]
            present = [v for v in values if v is not None]
            assert present, f"column {name!r} has no numbers"
            wanted = sorted(present, reverse=direction == "descending")
            assert present == wanted, f"{name!r} after click {click} is not {direction}"
            assert sorted(row[0] for row in rows) == sorted(initial), "rows lost or added"
            orders.append((name, direction, [row[0] for row in rows]))
        (_, first, ids_1), (_, second, ids_2) = orders[-2], orders[-1]
        assert {first, second} == {"ascending", "descending"}, f"{name!r}: second click"
        if len(set(values)) == len(values):
            assert ids_2 == ids_1[::-1], f"{name!r}: the second click did not reverse"
    assert any(ids != initial for _, _, ids in orders), "no click changed the row order"
    cr.screenshot(driver, "report-1366-sorted")
    assert cr.console_errors(driver) == []
    assert cr.page_problems(driver) == []


SORTED_TEXT = """
const values = arguments[0], descending = arguments[1];
const ok = (cmp) => values.every((v, i) => i === 0
  || (descending ? cmp(values[i - 1], v) >= 0 : cmp(values[i - 1], v) <= 0));
const plain = (a, b) => (a.toLowerCase() < b.toLowerCase() ? -1
  : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
return ok((a, b) => a.localeCompare(b, undefined, {sensitivity: 'base', numeric: true}))
  || ok((a, b) => a.localeCompare(b)) || ok(plain);
"""


def test_outlier_table_sorts_by_text_columns(report):
    driver = report
    headers = _headers(driver, "text")
    assert headers, 'no th[data-sort="text"] in table#outlier-table'
    for header in headers:
        name = header.text
        seen = []
        for click in (1, 2):
            direction, rows = _click_sorted(driver, header)
            assert direction in {"ascending", "descending"}, (name, click, direction)
            values = [text for _, text, _, _ in rows]
            assert driver.execute_script(SORTED_TEXT, values, direction == "descending"), (
                f"{name!r} after click {click} is not {direction}: {values[:5]}"
            )
            seen.append(direction)
        assert set(seen) == {"ascending", "descending"}, f"{name!r}: second click"
    assert cr.page_problems(driver) == []


def _type(driver, text: str | None) -> list:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, 'input#outlier-filter[type="search"]')
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)
    time.sleep(0.3)  # a filter may wait for a pause in typing
    return driver.execute_script(
        """
        const rows = [...document.querySelectorAll('table#outlier-table tbody tr')];
        return rows.map((r) => [r.id, r.textContent.toLowerCase(), r.hidden,
                                getComputedStyle(r).display === 'none']);
        """
    )


def test_outlier_filter_hides_rows_that_do_not_match(report, demo_out):
    driver = report
    with open(demo_out / "outliers.csv", newline="", encoding="utf-8") as handle:
        users = [row["DstUser"] for row in csv.DictReader(handle)]
    assert driver.find_elements("css selector", "input#outlier-filter"), "no #outlier-filter"
    every = _type(driver, None)
    assert every and not any(hidden or gone for _, _, hidden, gone in every)
    term = next(user for user in reversed(users) if users.count(user) == 1)
    rows = _type(driver, term.upper())  # case does not matter
    shown = [rid for rid, text, hidden, gone in rows if not hidden and not gone]
    wanted = [rid for rid, text, _, _ in rows if term.lower() in text]
    assert shown == wanted and 0 < len(shown) < len(rows), (term, shown)
    assert all(hidden for rid, _, hidden, _ in rows if rid not in shown), "hidden attribute"
    cr.screenshot(driver, "report-1366-filtered")
    nothing = _type(driver, "no-such-account-anywhere")
    assert all(hidden for _, _, hidden, _ in nothing)
    cleared = _type(driver, None)
    assert not any(hidden or gone for _, _, hidden, gone in cleared), "clearing shows every row"
    assert len(cleared) == len(every)
    assert cr.page_problems(driver) == []


ROW_LINKS = """
const rows = [...document.querySelectorAll('table#outlier-table tbody tr')];
return rows.map((r) => [r.id, [...r.querySelectorAll('a[href^="#chart-"]')]
  .map((a) => a.getAttribute('href').slice(1))]);
"""
FIGURES = """
return [...document.querySelectorAll('[id^="chart-"]')].map((f) => [f.id, f.tagName,
  [...f.querySelectorAll('a[href^="#outlier-"]')].map((a) => a.getAttribute('href').slice(1))]);
"""
IN_VIEW = """
const r = document.getElementById(arguments[0]).getBoundingClientRect();
return [location.hash, r.top, r.bottom, innerHeight];
"""


def test_rows_link_to_their_charts_and_back(report):
    driver = report
    rows = driver.execute_script(ROW_LINKS)
    assert rows, "no rows in table#outlier-table"
    assert [rid for rid, _ in rows] == [f"outlier-{n}" for n in range(1, len(rows) + 1)]
    figures = {fid: (tag, back) for fid, tag, back in driver.execute_script(FIGURES)}
    assert figures, "no chart-... figures"
    row_ids = {rid for rid, _ in rows}
    linked = [(rid, charts) for rid, charts in rows if charts]
    assert linked, "no row links to a chart"
    for rid, charts in linked:
        assert set(charts) <= set(figures), f"{rid} links to missing charts"
        assert any(rid in figures[chart][1] for chart in charts), f"no chart of {rid} links back"
    # Every outlier's chart (one a row links to) is a figure that links back to rows.
    for fid in {chart for _, charts in linked for chart in charts}:
        tag, back = figures[fid]
        assert tag == "FIGURE", fid
        assert back and set(back) <= row_ids, f"{fid} links back to {back}"
    rid, charts = linked[0]
    chart = next(c for c in charts if rid in figures[c][1])
    driver.find_element("css selector", f'#{rid} a[href="#{chart}"]').click()
    hash_, top, bottom, height = driver.execute_script(IN_VIEW, chart)
    assert hash_ == f"#{chart}" and bottom > 0 and top < height, (hash_, top, height)
    driver.find_element("css selector", f'#{chart} a[href="#{rid}"]').click()
    hash_, top, bottom, height = driver.execute_script(IN_VIEW, rid)
    assert hash_ == f"#{rid}" and bottom > 0 and top < height, (hash_, top, height)
    assert cr.page_problems(driver) == []


def test_copy_buttons(report):
    driver = report
    buttons = driver.execute_script(
        """return [...document.querySelectorAll('button.copy')]
             .map((b) => [b.getAttribute('type'), b.dataset.copy || '']);"""
    )
    assert buttons, "no button.copy"
    assert all(kind == "button" and text.strip() for kind, text in buttons), buttons[:3]
    first = driver.find_element("css selector", "button.copy")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)
    first.click()
    time.sleep(0.3)
    assert cr.page_problems(driver) == []


# --------------------------------------------------------------------------
# The notebook's outlier browser, in JupyterLab
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of the notebook; stopped after."""
    cr.tools()
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        cr.unavailable("The notebook browser test needs JupyterLab: install the notebook extra")
    with labserver.serve(tmp_path_factory.mktemp("lab"), NOTEBOOK, cr.artifacts()) as server:
        yield server


NOTEBOOK_STATE = """
const app = window.jupyterapp;
const panel = app && [...app.shell.widgets('main')]
  .find((w) => w.sessionContext && w.content && w.content.model);
if (!panel) return null;
if (arguments[0]) app.shell.activateById(panel.id);
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const cells = panel.content.model.cells, errors = [];
let pending = 0;
for (let i = 0; i < cells.length; i++) {
  const cell = cells.get(i);
  if (cell.type !== 'code') continue;
  if (cell.executionCount === null) pending++;
  for (let j = 0; j < cell.outputs.length; j++) {
    const out = cell.outputs.get(j).toJSON();
    if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
  }
}
return {kernel: kernel ? kernel.status : null, pending: pending, errors: errors,
        browser: document.querySelectorAll('.alu-browser').length};
"""


@pytest.fixture(scope="module")
def notebook_page(lab):
    """The notebook opened in JupyterLab at 1366 px and run top to bottom."""
    port, token = lab
    with cr.chromium(1366) as driver:
        driver.get(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={token}")

        def idle():
            state = driver.execute_script(NOTEBOOK_STATE)
            return state if state and state["kernel"] == "idle" else None

        cr.wait_for(idle, 120, "the notebook and its kernel", step=0.5)
        driver.execute_script(NOTEBOOK_STATE, True)  # the notebook is the active tab
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        def finished():
            state = driver.execute_script(NOTEBOOK_STATE)
            done = state["errors"] or (state["pending"] == 0 and state["kernel"] == "idle")
            return state if done else None

        try:
            state = cr.wait_for(finished, 240, "every cell to run", step=1)
        finally:
            cr.screenshot(driver, "jupyterlab-1366-run")
            (cr.artifacts() / "jupyterlab-console.log").write_text(
                "\n".join(f"{e['level']} {e['message']}" for e in driver.get_log("browser"))
            )
        yield driver, state


def test_notebook_runs_in_jupyterlab(notebook_page):
    driver, state = notebook_page
    assert state["errors"] == []
    assert state["pending"] == 0
    cr.wait_for(
        lambda: driver.execute_script("return document.querySelector('.alu-browser')"),
        60,
        "the outlier browser (.alu-browser)",
    )


BROWSER_LAYOUT = """
const box = document.querySelector('.alu-browser');
if (!box) return null;
if (arguments[0]) box.scrollIntoView({block: 'start'});
const image = (cls) => {
  const el = box.querySelector('.' + cls);
  return el && (el.tagName === 'IMG' ? el : el.querySelector('img'));
};
const panel = box.closest('.jp-WindowedPanel-outer') || box.closest('.jp-Notebook');
const limit = Math.min(innerWidth, panel.getBoundingClientRect().right);
const info = (img) => {
  if (!img) return null;
  const r = img.getBoundingClientRect();
  return {loaded: img.complete && img.naturalWidth > 0, nw: img.naturalWidth,
          nh: img.naturalHeight, left: r.left, right: r.right, width: r.width,
          height: r.height, src: img.src};
};
const sideways = [box, ...box.querySelectorAll('*')].filter((e) =>
  ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
  && e.tagName !== 'SELECT' && e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.className || e.tagName);
const cut = [...box.querySelectorAll('button')].filter((b) => b.scrollWidth > b.clientWidth + 1)
  .map((b) => b.textContent.trim());
return {shap: info(image('alu-shap')), trend: info(image('alu-trend')), limit: limit,
        innerWidth: innerWidth, page: document.scrollingElement.scrollWidth,
        panel: [panel.scrollWidth, panel.clientWidth], box: box.getBoundingClientRect().right,
        sideways: sideways, cut: cut};
"""


def _layout(driver, scroll: bool = True) -> dict:
    layout = driver.execute_script(BROWSER_LAYOUT, scroll)
    assert layout is not None, "no .alu-browser on the page"
    return layout


@pytest.mark.parametrize("width", [1366, 1920])
def test_outlier_browser_fits_the_viewport(notebook_page, width):
    driver, _ = notebook_page
    cr.resize(driver, width)
    time.sleep(1)  # JupyterLab lays its panels out again after a resize
    layout = _layout(driver)
    time.sleep(0.5)
    cr.screenshot(driver, f"jupyterlab-{width}")
    misfits = _misfits(layout)
    assert not misfits, f"at {width} px:\n" + "\n".join(misfits)


def _misfits(layout: dict) -> list[str]:
    """Say what in the browser's layout does not fit the page (an empty list: all fits)."""
    found = []
    for name in ("shap", "trend"):
        image = layout[name]
        if image is None or not image["loaded"]:
            found.append(f"no loaded .alu-{name} image in .alu-browser")
            continue
        if image["width"] < 200:
            found.append(f".alu-{name} is only {image['width']:.0f} px wide")
        if image["left"] < 0 or image["right"] > layout["limit"] + 1:
            found.append(
                f".alu-{name} spans x={image['left']:.0f}..{image['right']:.0f}, "
                f"outside the visible 0..{layout['limit']:.0f}"
            )
        drawn, natural = image["width"] / image["height"], image["nw"] / image["nh"]
        if abs(drawn / natural - 1) > 0.02:
            found.append(
                f".alu-{name} is distorted: drawn {image['width']:.0f}x{image['height']:.0f} "
                f"for a {image['nw']}x{image['nh']} image"
            )
    if layout["box"] > layout["limit"] + 1:
        found.append(f".alu-browser ends at x={layout['box']:.0f}, past {layout['limit']:.0f}")
    if layout["page"] > layout["innerWidth"]:
        found.append("the page scrolls sideways")
    if layout["panel"][0] > layout["panel"][1]:
        found.append(f"the notebook scrolls sideways ({layout['panel']})")
    found += [f"scrolls sideways inside the browser: {name}" for name in layout["sideways"]]
    found += [f"button label cut: {text!r}" for text in layout["cut"]]
    return found


CHART_BYTES = """
const done = arguments[arguments.length - 1];
const box = document.querySelector('.alu-browser');
const digest = async (cls) => {
  const el = box && box.querySelector('.' + cls);
  const img = el && (el.tagName === 'IMG' ? el : el.querySelector('img'));
  if (!img || !img.src) return null;
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [img.src, [...hash].map((b) => b.toString(16).padStart(2, '0')).join('')];
};
Promise.all([digest('alu-shap'), digest('alu-trend')]).then(done, (e) => done(String(e)));
"""


def _charts(driver) -> dict:
    """Each chart's ``src`` and the SHA-256 of its bytes."""
    shap, trend = driver.execute_async_script(CHART_BYTES)
    return {"shap": shap, "trend": trend}


def test_picking_another_outlier_changes_both_charts(notebook_page):
    from selenium.webdriver.support.select import Select

    driver, _ = notebook_page
    cr.resize(driver, 1366)
    _layout(driver)
    before = _charts(driver)
    assert before["shap"] and before["trend"], "the charts have no image"
    picks = driver.find_elements("css selector", ".alu-browser .alu-pick select, select.alu-pick")
    assert picks, "no .alu-pick select in .alu-browser"
    pick = Select(picks[0])
    current = int(driver.execute_script("return arguments[0].selectedIndex", picks[0]))
    assert len(pick.options) > 1, "the pick list has one option"
    index = (current + 1) % len(pick.options)
    pick.select_by_index(index)

    def both_changed():
        now = _charts(driver)
        changed = all(
            now[name] and now[name][0] != before[name][0] and now[name][1] != before[name][1]
            for name in ("shap", "trend")
        )
        return now if changed else None

    try:
        cr.wait_for(both_changed, 60, "both charts to change (src and bytes)", step=0.5)
    finally:
        time.sleep(0.3)
        cr.screenshot(driver, "jupyterlab-1366-picked")
        driver.execute_script(
            "const t = document.querySelector('.alu-browser .alu-trend');"
            "if (t) t.scrollIntoView({block: 'end'});"
        )
        time.sleep(0.3)
        cr.screenshot(driver, "jupyterlab-1366-picked-trend")
    layout = _layout(driver, scroll=False)
    assert layout["shap"]["loaded"] and layout["trend"]["loaded"], pick.options[index].text
