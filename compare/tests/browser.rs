//! `report.html` in a real browser: the page of the committed run (`docs/comparison/report.json`,
//! rendered again by `compare --render`) loaded in headless Chromium, and checked for what a
//! person would see: no script error, nothing fetched from the network, every runtime/tier of
//! the report in the tables and in every plot's legend, a click on a column heading sorting the
//! table by it (and a second the other way), a click on a legend entry hiding that series in
//! every plot (and a second showing it), a value on every mark, and no sideways scrolling of the
//! page on a phone-sized window. Screenshots at 1280 px and at 390 px go to
//! `target/tmp/report-page/`.
//!
//! Chromium is found as `$CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome` or
//! `google-chrome-stable` on `PATH` (Debian: `apt-get install chromium`). Without it the test
//! fails, unless `WASM_HOSTCALL_SKIP_BROWSER=1` says to skip it (CI never does).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The environment variable that skips this test where Chromium is missing.
const SKIP_VAR: &str = "WASM_HOSTCALL_SKIP_BROWSER";

/// Runs before the page's own script: records script errors and console errors.
const RECORD_ERRORS: &str = r#"<script>
window.__pageErrors = [];
window.addEventListener("error", function (e) { window.__pageErrors.push("error: " + e.message); });
window.addEventListener("unhandledrejection", function (e) { window.__pageErrors.push("rejection: " + e.reason); });
var __consoleError = console.error;
console.error = function () { window.__pageErrors.push("console.error: " + Array.prototype.join.call(arguments, " ")); __consoleError.apply(console, arguments); };
</script>"#;

/// Runs after the page's own script, as a person would: reads what is shown, clicks, reads
/// again; writes what it saw as JSON into `<pre id="browser-check">`.
const CHECK: &str = r#"<script>
(function () {
  var seen = { errors: window.__pageErrors.slice() };
  function shown(element) {
    var box = element.getBoundingClientRect();
    return getComputedStyle(element).display !== "none" && box.width > 0 && box.height > 0;
  }
  function unique(list) { return list.filter(function (x, i) { return list.indexOf(x) === i; }); }
  try {
    seen.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
    var tables = document.querySelectorAll("table.sortable");
    seen.tables = tables.length;
    seen.tableRows = Array.prototype.map.call(tables, function (t) {
      return Array.prototype.map.call(t.tBodies[0].rows, function (r) { return r.cells[0].textContent; });
    });
    var plots = document.querySelectorAll("svg.plot");
    seen.legends = Array.prototype.map.call(plots, function (svg) {
      return Array.prototype.filter.call(svg.querySelectorAll(".legend-item"), shown)
        .map(function (i) { return i.getAttribute("data-series"); });
    });
    var marks = document.querySelectorAll("g.series rect, g.series circle, g.series polygon");
    seen.marks = marks.length;
    seen.marksWithoutValue = Array.prototype.filter.call(marks, function (m) {
      var title = m.querySelector("title");
      return !title || !/\d/.test(title.textContent);
    }).length;

    // Sorting: the first table, by its second column, ascending then descending.
    var table = tables[0];
    var heading = table.tHead.rows[0].cells[1];
    function column() {
      return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
        var v = r.cells[1].getAttribute("data-value");
        return v === null ? null : Number(v);
      });
    }
    seen.sortColumn = heading.textContent;
    seen.beforeSort = column();
    heading.click();
    seen.ascending = column();
    seen.ascendingMark = heading.getAttribute("aria-sort");
    heading.click();
    seen.descending = column();
    seen.descendingMark = heading.getAttribute("aria-sort");

    // Hiding: the first plot's first legend entry, clicked twice.
    var entry = plots[0].querySelector(".legend-item");
    var name = entry.getAttribute("data-series");
    function visible() {
      return Array.prototype.filter.call(document.querySelectorAll("g.series"), function (g) {
        return g.getAttribute("data-series") === name && g.childElementCount > 0 && shown(g);
      }).length;
    }
    function click(element) { element.dispatchEvent(new MouseEvent("click", { bubbles: true })); }
    seen.hideSeries = name;
    seen.visibleBefore = visible();
    click(entry);
    seen.visibleHidden = visible();
    seen.otherSeriesVisible = Array.prototype.filter.call(document.querySelectorAll("g.series"), function (g) {
      return g.getAttribute("data-series") !== name && shown(g);
    }).length;
    click(entry);
    seen.visibleShownAgain = visible();

    seen.overflow = document.documentElement.scrollWidth - window.innerWidth;
  } catch (e) {
    seen.errors.push("check: " + e);
  }
  seen.width = window.innerWidth;
  if (window.parent !== window) {
    window.parent.postMessage(JSON.stringify(seen), "*");
  } else {
    var pre = document.createElement("pre");
    pre.id = "browser-check";
    pre.textContent = JSON.stringify(seen);
    document.body.appendChild(pre);
  }
})();
</script>"#;

/// A phone-sized frame around a page (headless Chromium's windows are at least 500 px wide): the
/// check inside posts what it saw, and this page shows it.
fn phone_frame(page: &str, width: u32, height: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe src="{page}" style="width:{width}px;height:{height}px;border:0;display:block"></iframe>
<script>
window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre");
  pre.id = "browser-check";
  pre.textContent = e.data;
  document.body.appendChild(pre);
}});
</script></body></html>"#
    )
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium with `args` (its own profile in `dir`), killed after two minutes;
/// returns its standard output. Output goes to files, not pipes: a page's DOM is larger than a
/// pipe's buffer, and Chromium would wait for a reader.
fn run_chromium(browser: &Path, dir: &Path, args: &[String]) -> String {
    let (stdout, stderr) = (dir.join("chromium.out"), dir.join("chromium.err"));
    let file = |path: &Path| std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(file(&stdout))
        .stderr(file(&stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    assert!(status.success(), "chromium failed ({status}): {}", read(&stderr));
    read(&stdout)
}

/// What [`CHECK`] saw, in a window `width` × `height`.
fn check_page(browser: &Path, dir: &Path, page: &Path, width: u32, height: u32) -> Value {
    let dom = run_chromium(
        browser,
        dir,
        &[
            format!("--window-size={width},{height}"),
            "--virtual-time-budget=5000".to_owned(),
            "--dump-dom".to_owned(),
            format!("file://{}", page.display()),
        ],
    );
    let start = dom.find("<pre id=\"browser-check\">").expect("the check ran (no result on the page)");
    let text = &dom[start + "<pre id=\"browser-check\">".len()..];
    let text = &text[..text.find("</pre>").expect("end of the check's result")];
    let text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the check's result is not JSON ({e}): {text}"))
}

fn numbers(value: &Value) -> Vec<Option<f64>> {
    value.as_array().expect("a column").iter().map(Value::as_f64).collect()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().expect("a list").iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
}

#[test]
fn report_page_works_in_a_real_browser() {
    let Some(browser) = chromium() else {
        if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: Chromium not found and {SKIP_VAR}=1");
            return;
        }
        panic!(
            "Chromium not found (tried $CHROMIUM, chromium, chromium-browser, google-chrome on PATH): install it \
             (Debian: apt-get install chromium), or set {SKIP_VAR}=1 to skip this test"
        );
    };

    // 1. The committed run's report, rendered by this build.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-page");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the page's directory");
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/comparison/report.json");
    let status = Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--render")
        .arg(&json)
        .arg("--out")
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("run compare --render");
    assert!(status.success(), "compare --render failed: {status}");
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report.json")).expect("JSON");
    let labels: Vec<String> = report["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["unavailable"].is_null())
        .map(|c| c["label"].as_str().expect("label").to_owned())
        .collect();
    assert!(labels.len() >= 2, "the committed report has {} columns", labels.len());

    // 2. The page with the check around its own script.
    let checked = page.replacen("<head>", &format!("<head>\n{RECORD_ERRORS}"), 1).replacen(
        "</body>",
        &format!("{CHECK}\n</body>"),
        1,
    );
    let checked_path = dir.join("checked.html");
    std::fs::write(&checked_path, checked).expect("write the checked page");

    // 3. On a desktop window.
    let seen = check_page(&browser, &dir, &checked_path, 1280, 900);
    assert_eq!(seen["errors"], Value::Array(vec![]), "errors on the page");
    assert_eq!(seen["resources"], Value::Array(vec![]), "the page fetched something");
    let tables = seen["tableRows"].as_array().expect("tables");
    assert!(tables.len() >= 5, "{} tables", tables.len());
    for rows in tables {
        let rows = strings(rows);
        for label in &labels {
            assert!(rows.contains(label), "{label} missing from a table: {rows:?}");
        }
    }
    let legends = seen["legends"].as_array().expect("legends");
    assert_eq!(legends.len(), 5, "plots on the page (call cost, start-up vs execution, execution, two scalings)");
    for legend in legends {
        let legend = strings(legend);
        for label in &labels {
            assert!(legend.contains(label), "{label} missing from a plot's legend: {legend:?}");
        }
    }
    assert!(seen["marks"].as_u64().unwrap_or(0) >= 4 * labels.len() as u64, "marks: {}", seen["marks"]);
    assert_eq!(seen["marksWithoutValue"], 0, "marks without a value on hover");

    let before = numbers(&seen["beforeSort"]);
    let ascending = numbers(&seen["ascending"]);
    let descending = numbers(&seen["descending"]);
    let mut expected: Vec<f64> = before.iter().flatten().copied().collect();
    expected.sort_by(f64::total_cmp);
    let filled = |column: &[Option<f64>]| column.iter().flatten().copied().collect::<Vec<_>>();
    assert_eq!(filled(&ascending), expected, "sorted by {} ascending", seen["sortColumn"]);
    expected.reverse();
    assert_eq!(filled(&descending), expected, "sorted by {} descending", seen["sortColumn"]);
    assert_ne!(ascending, descending, "a second click must reverse the order");
    assert_eq!(seen["ascendingMark"], "ascending");
    assert_eq!(seen["descendingMark"], "descending");

    let shown_before = seen["visibleBefore"].as_u64().expect("count");
    assert!(shown_before >= 4, "{} shown in {shown_before} plots", seen["hideSeries"]);
    assert_eq!(seen["visibleHidden"], 0, "{} still shown after a click on its legend entry", seen["hideSeries"]);
    assert!(seen["otherSeriesVisible"].as_u64().unwrap_or(0) > 0, "hiding one series hid the others");
    assert_eq!(seen["visibleShownAgain"].as_u64(), Some(shown_before), "a second click shows it again");
    assert!(seen["overflow"].as_i64().unwrap_or(1) <= 0, "the page scrolls sideways at 1280 px: {}", seen["overflow"]);

    // 4. On a phone: no sideways scrolling of the page (tables scroll in their boxes).
    let phone_path = dir.join("phone.html");
    std::fs::write(&phone_path, phone_frame("checked.html", 390, 844)).expect("write the phone frame");
    let phone = check_page(&browser, &dir, &phone_path, 600, 900);
    assert_eq!(phone["width"], 390, "the phone frame's width");
    assert_eq!(phone["errors"], Value::Array(vec![]), "errors on the page at 390 px");
    assert!(phone["overflow"].as_i64().unwrap_or(1) <= 0, "the page scrolls sideways at 390 px: {}", phone["overflow"]);

    // 5. What a person sees, for a look.
    std::fs::write(dir.join("phone-screenshot.html"), phone_frame("report.html", 390, 7000)).expect("write");
    for (name, page, width, height) in
        [("report-1280px.png", "report.html", 1280, 4000), ("report-390px.png", "phone-screenshot.html", 500, 7000)]
    {
        let shot = dir.join(name);
        run_chromium(
            &browser,
            &dir,
            &[
                format!("--window-size={width},{height}"),
                "--hide-scrollbars".to_owned(),
                "--virtual-time-budget=5000".to_owned(),
                format!("--screenshot={}", shot.display()),
                format!("file://{}", dir.join(page).display()),
            ],
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{} is {size} bytes", shot.display());
        println!("screenshot: {}", shot.display());
    }
}
