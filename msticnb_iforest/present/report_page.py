"""
The report page's frame: styles, its one small script and the content-security policy.

The script sorts and filters the outlier table, copies queries to the
clipboard and opens folded blocks before printing. It is inline and the
policy allows exactly its text (a ``sha256`` hash), so the page loads
nothing and runs nothing else: no other script, no event-handler
attributes, no ``eval``.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["CSS", "SCRIPT", "content_security_policy", "script_hash"]

CSS = r"""
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --card:#ffffff;
  --accent:#243b53; --alert:#b42318; --alert-bg:#fdecea; --ok:#1e7e34; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:var(--accent); color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; }
header p { margin:0; color:#d9e2ec; font-size:13px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 32px; font-size:13px; }
nav a { color:var(--accent); margin-right:16px; text-decoration:none; }
nav a:hover { text-decoration:underline; }
main { max-width:1240px; margin:0 auto; padding:20px 32px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:18px 22px; margin:0 0 20px; }
h2 { font-size:18px; margin:0 0 12px; color:var(--accent); }
h3 { font-size:15px; margin:18px 0 8px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; background:none; border:0; padding:0; }
.card { flex:1 1 150px; background:var(--card); border:1px solid var(--line);
  border-radius:8px; padding:12px 16px; }
.card .k { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.card .v.small { font-size:18px; padding-top:3px; }
.card .v { font-size:22px; font-weight:600; margin-top:2px; overflow-wrap:anywhere; }
.card.wide { flex:2 1 230px; }
.card-notes { flex:1 1 100%; }
.card.alert { border-color:#f5c2c0; background:var(--alert-bg); }
.card.alert .v { color:var(--alert); }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; vertical-align:top; padding:6px 10px;
  border-bottom:1px solid var(--line); }
th { background:#eef2f7; font-weight:600; color:var(--accent); }
th.num { text-align:right; }
table.kv th { width:240px; background:none; color:var(--muted); font-weight:500; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.acct { font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace;
  font-size:13px; white-space:nowrap; }
td.day { white-space:nowrap; }
td.path, span.path { font-size:13px; overflow-wrap:anywhere;
  font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace; }
.scroll { overflow-x:auto; }
tr:nth-child(even) td { background:#fafbfc; }
.tag { display:inline-block; background:#eef2f7; border-radius:4px; padding:0 6px;
  margin:0 4px 2px 0; font-size:12px; white-space:nowrap; }
.muted { color:var(--muted); }
.note { background:#fff8e1; border-left:4px solid #f0b429; padding:8px 12px; margin:8px 0; }
figure { margin:0 0 18px; min-width:0; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(760px, 1fr)); gap:8px 18px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px;
  background:#fff; }
figcaption { font-size:13px; color:var(--muted); margin-top:4px; overflow-wrap:anywhere; }
pre { background:#f0f4f8; border:1px solid var(--line); border-radius:4px; padding:10px;
  overflow:auto; font-size:12.5px; white-space:pre-wrap; overflow-wrap:anywhere; }
details summary { cursor:pointer; color:var(--accent); margin:6px 0; }
footer { text-align:center; color:var(--muted); font-size:12px; padding:0 0 30px; }

table.sortable th[data-sort] { cursor:pointer; user-select:none; white-space:nowrap; }
table.sortable th[data-sort]::after { content:" \2195"; color:#9aa5b1; font-weight:400; }
table.sortable th[aria-sort="ascending"]::after { content:" \2191"; color:var(--accent); }
table.sortable th[aria-sort="descending"]::after { content:" \2193"; color:var(--accent); }
th[data-sort]:focus-visible { outline:2px solid var(--accent); outline-offset:-2px; }
.toolbar { display:flex; gap:12px; align-items:center; margin:0 0 10px; flex-wrap:wrap; }
#outlier-filter { font:inherit; padding:5px 9px; border:1px solid var(--line); border-radius:4px;
  min-width:280px; }
td.why { min-width:340px; }
td.why ul { margin:0; padding-left:18px; }
td.why li { margin:0 0 2px; }
td.why .tags { margin-top:4px; }
td.links a { white-space:nowrap; display:inline-block; margin:0 8px 2px 0; }
tr:target td, .pivot:target, figure:target { background:#fff8e1; }
.lead { font-weight:600; }
td.accounts { font-size:12.5px; min-width:220px; max-width:360px; }
td.members { min-width:150px; max-width:260px; }
td.sources { font-size:12.5px; min-width:120px;
  font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace; }
td.members a { white-space:nowrap; margin-right:3px; }
#incident-table td.lead { min-width:260px; }
td.accounts details summary { margin:0; display:inline; }
button.copy { font:inherit; font-size:12px; padding:2px 8px; border:1px solid #9fb3c8;
  background:#f0f4f8; color:var(--accent); border-radius:4px; cursor:pointer; margin:0 6px 4px 0; }
button.copy:hover { background:#d9e2ec; }
.pivot { border-top:1px solid var(--line); padding:10px 0 4px; }
.pivot h3 { margin:0 0 6px; }
.charts-one figure img { display:block; }
figure .back { font-size:12.5px; }
.status { display:inline-block; border-radius:4px; padding:0 7px; font-size:12px;
  font-weight:600; white-space:nowrap; border:1px solid transparent; }
.status-new { background:var(--alert-bg); color:var(--alert); border-color:#f5c2c0; }
.status-recurring { background:#fff8e1; color:#8d6708; border-color:#f0d78c; }
.status-seen { background:#eef2f7; color:var(--muted); }
.verdict-malicious { background:var(--alert); color:#fff; }
td.state { white-space:nowrap; }
.statusline { font-weight:600; margin:0 0 10px; }

@media print {
  nav, header p, .toolbar, button.copy, figure .back { display:none !important; }
  body { background:#fff; font-size:11pt; }
  main { max-width:none; padding:0; }
  section { border:0; padding:0; margin:0 0 14pt; break-inside:auto; }
  figure, tr, .pivot, pre { break-inside:avoid; }
  tr[hidden] { display:table-row !important; }
  thead { display:table-header-group; }
  .grid { display:block; }
  figure img { max-width:100%; border:0; }
  a { color:inherit; text-decoration:none; }
  .scroll { overflow:visible; }
  pre { white-space:pre-wrap; font-size:8.5pt; }
  table { font-size:9pt; }
  th, td { padding:3px 5px; }
  td.links, th.links { display:none; }
  table.sortable th[data-sort] { white-space:normal; }
  table.sortable th[data-sort]::after { content:none; }
  td.why, td.accounts, td.members, #incident-table td.lead { min-width:0; max-width:none; }
  td.acct { white-space:normal; overflow-wrap:anywhere; }
}
"""

SCRIPT = """
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  function key(cell, kind) {
    var raw = cell ? cell.getAttribute("data-value") : "";
    if (raw === null) { raw = cell.textContent.trim(); }
    if (kind === "num") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return String(raw).toLowerCase();
  }
  each(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("thead th[data-sort]");
    each(heads, function (th) {
      th.tabIndex = 0;
      function sort() {
        var col = Array.prototype.indexOf.call(th.parentNode.children, th);
        var kind = th.getAttribute("data-sort");
        var up = th.getAttribute("aria-sort") !== "ascending";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], kind), y = key(b.cells[col], kind);
          var d = x < y ? -1 : (x > y ? 1 : 0);
          return up ? d : -d;
        });
        each(rows, function (row) { body.appendChild(row); });
        each(heads, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); }
      });
    });
  });
  var filter = document.getElementById("outlier-filter");
  var table = document.getElementById("outlier-table");
  var count = document.getElementById("outlier-count");
  if (filter && table) {
    filter.addEventListener("input", function () {
      var query = filter.value.trim().toLowerCase();
      var rows = table.tBodies[0].rows, shown = 0;
      each(rows, function (row) {
        row.hidden = query !== "" && row.textContent.toLowerCase().indexOf(query) < 0;
        if (!row.hidden) { shown += 1; }
      });
      if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
    });
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function done(button, ok) {
    if (button.getAttribute("data-label") === null) {
      button.setAttribute("data-label", button.textContent);
    }
    button.textContent = ok ? "Copied" : "Copy failed: select the text";
    setTimeout(function () { button.textContent = button.getAttribute("data-label"); }, 1500);
  }
  each(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy") || "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { done(button, true); },
          function () { done(button, fallback(text)); }
        );
      } else {
        done(button, fallback(text));
      }
    });
  });
  var opened = [];
  window.addEventListener("beforeprint", function () {
    each(document.querySelectorAll("details:not([open])"), function (box) {
      box.open = true;
      opened.push(box);
    });
  });
  window.addEventListener("afterprint", function () {
    each(opened, function (box) { box.open = false; });
    opened = [];
  });
})();
"""


def script_hash(script: str = SCRIPT) -> str:
    """
    Return the CSP source that allows exactly this inline script: ``'sha256-<base64>'``.

    Examples
    --------
    >>> script_hash("x")
    "'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"

    """
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(script: str = SCRIPT) -> str:
    """
    Return the page's policy: images only from ``data:``, inline styles, this one script.

    Examples
    --------
    >>> content_security_policy().startswith("default-src 'none'; img-src data:")
    True

    """
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src {script_hash(script)}; base-uri 'none'; form-action 'none'"
    )
