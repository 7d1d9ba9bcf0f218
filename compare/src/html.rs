//! `report.html`: the report as one self-contained page (styles, script and plots inline; it
//! fetches nothing), for choosing a runtime in a browser.
//!
//! One table per group of measurements, a row per runtime/tier (and the native floor), a column
//! per measurement: a click on a column's heading sorts the runtimes by it (again: the other
//! way). The plots are the SVGs of [`crate::plot`], inline; a click on a legend entry (or Enter
//! on it) hides that runtime/tier in every plot, a second shows it again; each mark shows its
//! value on hover. Tables scroll sideways inside their box on a narrow screen, the plots scale.
//! `compare/tests/browser.rs` checks all of this in headless Chromium.

use std::fmt::Write as _;

use crate::plot::{escape, value_text};
use crate::report::Results;

const STYLE: &str = r#"
:root { color-scheme: light; --line: #d9d9d9; --muted: #5c5c5c; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1d; margin: 0 auto;
       padding: 1rem 1.25rem 3rem; max-width: 1280px; }
h1 { font-size: 1.5rem; margin: .5rem 0; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
p, li { max-width: 72rem; }
.meta { color: var(--muted); overflow-wrap: anywhere; }
.table-box { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; min-width: 100%; }
th, td { padding: .35rem .55rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
thead th { position: sticky; top: 0; background: #f3f5f8; vertical-align: bottom; white-space: normal;
           min-width: 6.5rem; max-width: 12rem; cursor: pointer; user-select: none; }
thead th:hover { color: var(--accent); }
thead th[aria-sort="ascending"]::after { content: " ▲"; }
thead th[aria-sort="descending"]::after { content: " ▼"; }
tbody th { text-align: left; position: sticky; left: 0; background: #fff; font-weight: 600; }
thead th:first-child { left: 0; z-index: 1; text-align: left; }
tr.baseline th, tr.baseline td { background: #eef4fb; }
tr.floor th, tr.floor td { color: var(--muted); font-style: italic; }
td .ratio { display: block; color: var(--muted); font-size: .78rem; }
td.na { color: #aaa; }
li.divergence { color: #a40000; font-weight: 600; }
figure { margin: 1.5rem 0; }
figure svg { width: 100%; height: auto; max-width: 960px; display: block; }
.legend-item { cursor: pointer; }
.legend-item.off { opacity: .35; }
.legend-item:focus { outline: 2px solid var(--accent); }
figcaption { color: var(--muted); font-size: .85rem; }
@media (max-width: 640px) {
  body { padding: .5rem .6rem 2rem; font-size: 14px; }
  h1 { font-size: 1.25rem; }
  th, td { padding: .3rem .4rem; }
}
"#;

/// Sorting and series toggling; nothing else runs.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  function key(row, index) {
    var cell = row.cells[index];
    if (!cell) return null;
    var value = cell.getAttribute("data-value");
    if (value === null || value === "") return null;
    var number = Number(value);
    return isNaN(number) ? value : number;
  }
  function sortBy(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var direction = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", direction);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index), y = key(b, index);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return direction === "ascending" ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable thead th").forEach(function (th) {
    th.setAttribute("tabindex", "0");
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); }
    });
  });
  var hidden = {};
  function toggle(name) {
    hidden[name] = !hidden[name];
    document.querySelectorAll("g.series").forEach(function (g) {
      if (g.getAttribute("data-series") === name) g.style.display = hidden[name] ? "none" : "";
    });
    document.querySelectorAll(".legend-item").forEach(function (item) {
      if (item.getAttribute("data-series") === name) {
        item.classList.toggle("off", hidden[name]);
        item.setAttribute("aria-pressed", hidden[name] ? "false" : "true");
      }
    });
  }
  document.querySelectorAll(".legend-item").forEach(function (item) {
    item.setAttribute("tabindex", "0");
    item.setAttribute("role", "button");
    item.setAttribute("aria-pressed", "true");
    item.addEventListener("click", function () { toggle(item.getAttribute("data-series")); });
    item.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(item.getAttribute("data-series")); }
    });
  });
})();
"#;

impl Results {
    /// The page, with `plots` (from [`Results::plots`]) inline.
    pub(crate) fn html(&self, plots: &[(&str, String)]) -> String {
        let mut out = String::new();
        let title = escape(&self.title());
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        );
        let _ = writeln!(
            out,
            "<p class=\"meta\">Measured {} on {} ({} cores), {}. Runtimes: {}.</p>",
            escape(&self.date),
            escape(self.machine.get("cpu").map_or("?", String::as_str)),
            escape(self.machine.get("cores").map_or("?", String::as_str)),
            escape(self.versions.get("rustc").map_or("?", String::as_str)),
            escape(&self.runtime_versions().join(", ")),
        );
        let _ = writeln!(
            out,
            "<p>Each cell: the median over the rounds, and below it the median ratio to <b>{}</b> (each \
             ratio taken within one round, runtimes interleaved, so machine drift cancels). Host-call \
             columns are per call with the empty loop subtracted; the <i>native floor</i> row is the same \
             decoder (or kernel) run natively on the same bytes. Click a column's heading to sort the \
             runtimes by it; click a plot's legend entry to hide or show that runtime/tier; hover a mark \
             for its value.</p>",
            escape(&self.baseline)
        );

        let columns: Vec<_> = self.available().collect();
        let mut groups: Vec<_> = self.rows.iter().map(|r| r.group).collect();
        groups.dedup();
        for group in groups {
            let rows: Vec<_> = self.rows.iter().filter(|r| r.group == group).collect();
            let _ = writeln!(out, "<h2>{}</h2>", escape(group.title()));
            out.push_str(
                "<div class=\"table-box\"><table class=\"sortable\">\n<thead><tr><th scope=\"col\">runtime/tier</th>",
            );
            for row in &rows {
                let _ =
                    write!(out, "<th scope=\"col\">{} <small>({})</small></th>", escape(&row.title), escape(&row.unit));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for column in &columns {
                let class = if column.label == self.baseline { " class=\"baseline\"" } else { "" };
                let _ = write!(out, "<tr{class}><th scope=\"row\" data-value=\"{0}\">{0}</th>", escape(&column.label));
                for row in &rows {
                    match row.cell(&column.label, &self.baseline) {
                        None => out.push_str("<td class=\"na\">n/a</td>"),
                        Some(cell) => {
                            let ratio = cell.ratio.map(|(m, ..)| format!("<span class=\"ratio\">{m:.2}x</span>"));
                            let _ = write!(
                                out,
                                "<td data-value=\"{}\">{}{}</td>",
                                cell.median,
                                escape(&value_text(cell.median, &row.unit)),
                                ratio.unwrap_or_default()
                            );
                        }
                    }
                }
                out.push_str("</tr>\n");
            }
            if rows.iter().any(|r| r.native_median().is_some()) {
                out.push_str("<tr class=\"floor\"><th scope=\"row\" data-value=\"native floor\">native floor</th>");
                for row in &rows {
                    match row.native_median() {
                        Some(n) => {
                            let _ = write!(out, "<td data-value=\"{n}\">{}</td>", escape(&value_text(n, &row.unit)));
                        }
                        None => out.push_str("<td class=\"na\">—</td>"),
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table></div>\n");
        }

        if !self.notes.is_empty() {
            out.push_str("<h2>What the run found</h2>\n<ul>\n");
            for note in &self.notes {
                let class = if note.starts_with("DIVERGENCE") { " class=\"divergence\"" } else { "" };
                let _ = writeln!(out, "<li{class}>{}</li>", escape(note));
            }
            out.push_str("</ul>\n");
        }
        let missing: Vec<_> = self.columns.iter().filter(|c| c.unavailable.is_some()).collect();
        if !missing.is_empty() {
            out.push_str("<h2>Tiers not measured</h2>\n<ul>\n");
            for column in missing {
                let _ = writeln!(
                    out,
                    "<li>{}: {}</li>",
                    escape(&column.label),
                    escape(column.unavailable.as_deref().unwrap_or_default())
                );
            }
            out.push_str("</ul>\n");
        }

        if !plots.is_empty() {
            out.push_str("<h2>Plots</h2>\n");
        }
        for (name, svg) in plots {
            let _ = writeln!(
                out,
                "<figure>\n{svg}<figcaption>Also as <a href=\"{0}\">{0}</a>.</figcaption>\n</figure>",
                escape(name)
            );
        }
        let settings = match &self.settings {
            serde_json::Value::Object(map) => {
                map.iter().map(|(key, value)| format!("{key} {value}")).collect::<Vec<_>>().join(", ")
            }
            other => other.to_string(),
        };
        let _ = writeln!(
            out,
            "<p class=\"meta\">Raw samples of every round: <a href=\"report.json\">report.json</a>. \
             Settings: {}.</p>",
            escape(&settings)
        );
        let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
        out
    }
}
