//! The run's raw results ([`Results`], written as `report.json`), their summary (median ratios to
//! the baseline), the terminal table, `report.md` and the SVG plots.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::measure::{Group, bytes, median};
use crate::payload::PAYLOAD_SIZES;
use crate::plot::{CategoryChart, Kind, ScatterChart, Series};

/// One column: a runtime at one tier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Column {
    /// `runtime/tier`.
    pub(crate) label: String,
    pub(crate) runtime: String,
    pub(crate) tier: String,
    /// Why this tier could not be measured, if it could not.
    pub(crate) unavailable: Option<String>,
}

/// One row: every sample of every column, by round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) group: Group,
    pub(crate) unit: String,
    /// Samples by column label; index = round (`null` where a round has no sample).
    pub(crate) samples: BTreeMap<String, Vec<Option<f64>>>,
    /// The native floor, by round, where the row has one.
    pub(crate) native: Vec<f64>,
}

/// Everything a run measured, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Results {
    pub(crate) date: String,
    pub(crate) machine: BTreeMap<String, String>,
    pub(crate) versions: BTreeMap<String, String>,
    pub(crate) settings: serde_json::Value,
    /// The module measured, when it is not the built-in guest (`compare --guest`).
    #[serde(default)]
    pub(crate) guest: Option<GuestInfo>,
    /// What the run found beside the figures: the output of each tier, divergences, stubs.
    #[serde(default)]
    pub(crate) notes: Vec<String>,
    pub(crate) baseline: String,
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

/// A module of the user's own (`compare --guest`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GuestInfo {
    pub(crate) file: String,
    pub(crate) export: String,
    pub(crate) args: Vec<i32>,
    /// The request's size, for a handler.
    pub(crate) input_bytes: Option<usize>,
    /// Imports stubbed with zeros.
    pub(crate) stubs: Vec<String>,
}

impl GuestInfo {
    /// `FILE, export NAME(1, 2)` or `… with a request of N bytes`.
    pub(crate) fn describe(&self) -> String {
        let call = match self.input_bytes {
            Some(n) => format!("{} with a request of {n} bytes", self.export),
            None => format!("{}({})", self.export, self.args.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")),
        };
        format!("{}, export {call}", self.file)
    }
}

/// A summarised cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    /// Median of the samples.
    pub(crate) median: f64,
    /// Median, min and max of the per-round ratios to the baseline column.
    pub(crate) ratio: Option<(f64, f64, f64)>,
}

impl Row {
    /// The summary of column `label`, against column `baseline`.
    pub(crate) fn cell(&self, label: &str, baseline: &str) -> Option<Cell> {
        let samples = self.samples.get(label)?;
        let mut values: Vec<f64> = samples.iter().flatten().copied().collect();
        if values.is_empty() {
            return None;
        }
        let median_value = median(&mut values);
        let base = self.samples.get(baseline);
        let mut ratios: Vec<f64> = samples
            .iter()
            .zip(base.into_iter().flatten())
            .filter_map(|(s, b)| Some((*s)? / (*b)?))
            .filter(|r| r.is_finite())
            .collect();
        let ratio = (!ratios.is_empty()).then(|| {
            let m = median(&mut ratios);
            (m, ratios[0], ratios[ratios.len() - 1])
        });
        Some(Cell { median: median_value, ratio })
    }

    /// The median native floor, if any.
    pub(crate) fn native_median(&self) -> Option<f64> {
        let mut values = self.native.clone();
        (!values.is_empty()).then(|| median(&mut values))
    }
}

/// A plot's category for a row of [`crate::measure::is_workload_row`]: `primes`, `SHA-256`, …
fn short_title(id: &str) -> String {
    workloads::Workload::ALL
        .into_iter()
        .find(|w| id.strip_prefix("exec.workload.") == Some(w.id()))
        .map_or_else(|| "primes (sieve)".to_owned(), |w| w.name().to_owned())
}

/// `2.3 ns`, `1.2 ms`, `840 KiB`.
pub(crate) fn quantity(value: f64, unit: &str) -> String {
    let digits = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

fn ratio_text((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{m:.2}x ({lo:.2}–{hi:.2})")
}

impl Results {
    pub(crate) fn available(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.unavailable.is_none())
    }

    /// The table as rows of cells: the header, then one line per row, as plain strings.
    fn grid(&self, with_range: bool) -> (Vec<String>, Vec<(Group, Vec<String>)>) {
        let mut header = vec!["measurement".to_owned()];
        header.extend(self.available().map(|c| c.label.clone()));
        header.push("native".to_owned());
        let mut lines = Vec::new();
        for row in &self.rows {
            let mut line = vec![row.title.clone()];
            for column in self.available() {
                line.push(match row.cell(&column.label, &self.baseline) {
                    None => "n/a".to_owned(),
                    Some(cell) => {
                        let ratio = cell.ratio.map(|r| if with_range { ratio_text(r) } else { format!("{:.2}x", r.0) });
                        format!("{} {}", ratio.unwrap_or_default(), quantity(cell.median, &row.unit)).trim().to_owned()
                    }
                });
            }
            line.push(row.native_median().map(|n| quantity(n, &row.unit)).unwrap_or_else(|| "—".to_owned()));
            lines.push((row.group, line));
        }
        (header, lines)
    }

    /// The terminal table: rows are measurements, columns tiers; each cell is the median ratio to
    /// the baseline with its min–max over the rounds, then the absolute median.
    pub(crate) fn terminal_table(&self) -> String {
        let (header, lines) = self.grid(true);
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for (_, line) in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                let pad = w - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, "{cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "  {}{cell}", " ".repeat(pad));
                }
            }
            out + "\n"
        };
        let mut out = render(&header);
        let mut group = None;
        for (g, line) in &lines {
            if group != Some(*g) {
                let _ = writeln!(out, "-- {}", g.title());
                group = Some(*g);
            }
            out += &render(line);
        }
        let _ =
            writeln!(out, "Cells: median ratio to {} (min–max over rounds), then the median itself.", self.baseline);
        out
    }

    /// `report.md`.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", self.title());
        let _ = writeln!(
            out,
            "Measured {} on {} ({} cores), {}. Runtimes: {}.\n",
            self.date,
            self.machine.get("cpu").map(String::as_str).unwrap_or("?"),
            self.machine.get("cores").map(String::as_str).unwrap_or("?"),
            self.versions.get("rustc").map(String::as_str).unwrap_or("?"),
            self.runtime_versions().join(", "),
        );
        let _ = write!(
            out,
            "Each cell: the median ratio to **{}** over the rounds (min–max), then the median itself. \
             Ratios are taken within a round, runtimes interleaved, so machine drift cancels.",
            self.baseline
        );
        let _ = writeln!(
            out,
            "{}\n",
            match self.guest {
                Some(_) => " A tier that refused the module or failed on it is listed at the end with why.",
                None => {
                    " Host-call rows are per call, with the empty loop subtracted; `native` is the same \
                     `common` decoder (or kernel, or workload) run natively on the same bytes."
                }
            }
        );
        let (header, lines) = self.grid(true);
        let mut group = None;
        for (g, line) in &lines {
            if group != Some(*g) {
                let _ = writeln!(out, "\n### {}\n", g.title());
                let _ = writeln!(out, "| {} |", header.join(" | "));
                let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
                group = Some(*g);
            }
            let _ = writeln!(out, "| {} |", line.join(" | "));
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n### What the run found\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        let missing: Vec<&Column> = self.columns.iter().filter(|c| c.unavailable.is_some()).collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "\n### Tiers not measured\n");
            for c in missing {
                let _ = writeln!(out, "- {}: {}", c.label, c.unavailable.as_deref().unwrap_or_default());
            }
        }
        if self.guest.is_some() {
            let _ = writeln!(
                out,
                "\nThe same as a page, sortable: [report.html](report.html). Raw samples: [report.json](report.json)."
            );
            return out;
        }
        let _ = writeln!(
            out,
            "\nThe same as a page, sortable, with the plots interactive: [report.html](report.html). \
             Plots: [call cost](call-cost.svg), [start-up vs execution](startup-vs-execution.svg), \
             [execution by workload](execution.svg), [log_str scaling](payload-scaling-str.svg), [log_ab scaling](payload-scaling-ab.svg). \
             Raw samples: [report.json](report.json)."
        );
        out
    }

    /// The report's title: the built-in guest's comparison, or the user's module.
    pub(crate) fn title(&self) -> String {
        match &self.guest {
            None => "Choosing a runtime: wasm-hostcall comparison".to_owned(),
            Some(guest) => format!("Your module on every runtime: {}", guest.describe()),
        }
    }

    /// `name version` of every runtime with a column, in column order.
    pub(crate) fn runtime_versions(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for column in &self.columns {
            if !seen.contains(&column.runtime) {
                seen.push(column.runtime.clone());
            }
        }
        // A runtime measured through another's crate (the component model's host) has no entry.
        seen.iter().filter_map(|name| Some(format!("{name} {}", self.versions.get(name)?))).collect()
    }

    fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// The median of row `id` in every available column (`None` where it has no sample).
    fn medians(&self, id: &str) -> Vec<Option<f64>> {
        let row = self.row(id);
        self.available().map(|c| row.and_then(|r| r.cell(&c.label, &self.baseline)).map(|cell| cell.median)).collect()
    }

    /// The SVG plots, by file name.
    pub(crate) fn plots(&self) -> Vec<(&'static str, String)> {
        let labels: Vec<String> = self.available().map(|c| c.label.clone()).collect();
        let series = |ids: &[String]| -> Vec<Series> {
            labels
                .iter()
                .enumerate()
                .map(|(i, label)| Series {
                    name: label.clone(),
                    values: ids.iter().map(|id| self.medians(id)[i]).collect(),
                })
                .collect()
        };

        // Grouped bars: ns per call by import, one bar per tier.
        let imports = [
            ("call.log_int", "log_int"),
            ("call.log_str.16", "log_str 16 B"),
            ("call.log_ab.16", "log_ab 16 B"),
            ("call.log_cd", "log_cd"),
            ("call.noop_i32_i32", "no-op (i32,i32)"),
            ("enter.noop", "host→guest"),
        ];
        let ids: Vec<String> = imports.iter().map(|(id, _)| (*id).to_owned()).collect();
        let call_cost = CategoryChart {
            title: "Call cost by import (log scale)".to_owned(),
            subtitle: format!("median of the rounds; {}", self.date),
            kind: Kind::Bars,
            categories: imports.iter().map(|(_, t)| (*t).to_owned()).collect(),
            unit: "ns".to_owned(),
            y_title: "ns per call".to_owned(),
            series: series(&ids),
        };

        // Scatter: start-up (compile + instantiate) against execution (kernel), one point per tier.
        let compile = self.medians("startup.compile");
        let instantiate = self.medians("startup.instantiate");
        let kernel = self.medians("exec.kernel");
        let points = labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| Some((label.clone(), (compile[i]? + instantiate[i]?) / 1000.0, kernel[i]?)))
            .collect();
        let scatter = ScatterChart {
            title: "Start-up vs execution (log scales)".to_owned(),
            subtitle: "x: compile + instantiate the guest; y: the compute kernel. Lower left is better.".to_owned(),
            x_title: "start-up".to_owned(),
            x_unit: "ms".to_owned(),
            y_title: "kernel".to_owned(),
            y_unit: "ms".to_owned(),
            points,
        };

        // Grouped bars: execution as a multiple of native, by workload, and their geometric mean.
        let workloads: Vec<&Row> = self.rows.iter().filter(|r| crate::measure::is_workload_row(&r.id)).collect();
        let mut categories: Vec<String> = workloads.iter().map(|r| short_title(&r.id)).collect();
        categories.push("geometric mean".to_owned());
        let execution = CategoryChart {
            title: "Execution, as a multiple of native (log scale)".to_owned(),
            subtitle: format!(
                "median of the rounds, each workload's time over the same code run natively; {}",
                self.date
            ),
            kind: Kind::Bars,
            categories,
            unit: "×".to_owned(),
            y_title: "× native".to_owned(),
            series: labels
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let mut values: Vec<Option<f64>> = workloads
                        .iter()
                        .map(|row| Some(row.cell(label, &self.baseline)?.median / row.native_median()?))
                        .collect();
                    values.push(self.medians("exec.geomean")[i]);
                    Series { name: label.clone(), values }
                })
                .collect(),
        };

        // Lines: ns per call against payload size, per tier, plus the native decoder.
        let scaling = |import: &str| -> String {
            let ids: Vec<String> = PAYLOAD_SIZES.iter().map(|s| format!("call.{import}.{s}")).collect();
            let mut series = series(&ids);
            series.push(Series {
                name: "native decode".to_owned(),
                values: ids.iter().map(|id| self.row(id).and_then(Row::native_median)).collect(),
            });
            CategoryChart {
                title: format!("{import}: cost per call by payload size (log scale)"),
                subtitle: format!("median of the rounds; {}", self.date),
                kind: Kind::Lines,
                categories: PAYLOAD_SIZES.iter().map(|s| bytes(*s)).collect(),
                unit: "ns".to_owned(),
                y_title: "ns per call".to_owned(),
                series,
            }
            .svg()
        };
        vec![
            ("call-cost.svg", call_cost.svg()),
            ("startup-vs-execution.svg", scatter.svg()),
            ("execution.svg", execution.svg()),
            ("payload-scaling-str.svg", scaling("log_str")),
            ("payload-scaling-ab.svg", scaling("log_ab")),
        ]
    }
}
