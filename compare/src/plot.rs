//! The report's plots as SVG, drawn here rather than by a chart library so that they stay
//! readable however many runtime/tier series a build has: every series gets its own pair of
//! colour and marker (10 colours × 7 markers: 70 series before a pair repeats), the legend shows
//! the marker the plot uses, log axes are labelled at powers of ten (never "0"), and every mark
//! carries its value in a `<title>`, which browsers and SVG viewers show on hover.
//!
//! Each series is one `<g class="series" data-series="NAME">`, and each legend entry a
//! `<g class="legend-item" data-series="NAME">`: `report.html` hides and shows a series by them.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "pixel coordinates and decades: small numbers from floats (a log10 of a measured value, a width over a column width)"
)]

use std::fmt::Write as _;

/// Tableau 10: distinct on screen and in print.
const COLOURS: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e"];

/// Marker shapes; their count (7) is coprime with the colours' (10), so that series `i` and `j`
/// share both only when `i ≡ j (mod 70)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Pentagon,
    Cross,
}

const MARKERS: [Marker; 7] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Pentagon,
    Marker::Cross,
];

/// The style of series `index`.
fn style(index: usize) -> (&'static str, Marker) {
    (COLOURS[index % COLOURS.len()], MARKERS[index % MARKERS.len()])
}

/// One series: a name and a value per category (bars, lines) or one point (scatter).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) name: String,
    /// `None` (or a value that is not positive, which a log axis cannot show) draws nothing.
    pub(crate) values: Vec<Option<f64>>,
}

/// How a category chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Grouped bars, a marker on each bar's top.
    Bars,
    /// A line through the categories, a marker at each.
    Lines,
}

/// A chart with categories along x and a log-scaled quantity along y.
#[derive(Debug, Clone)]
pub(crate) struct CategoryChart {
    pub(crate) title: String,
    pub(crate) subtitle: String,
    pub(crate) kind: Kind,
    pub(crate) categories: Vec<String>,
    /// The y quantity's unit, for the axis title and the hover values.
    pub(crate) unit: String,
    pub(crate) y_title: String,
    pub(crate) series: Vec<Series>,
}

/// One point per series, log scales on both axes.
#[derive(Debug, Clone)]
pub(crate) struct ScatterChart {
    pub(crate) title: String,
    pub(crate) subtitle: String,
    pub(crate) x_title: String,
    pub(crate) x_unit: String,
    pub(crate) y_title: String,
    pub(crate) y_unit: String,
    /// `(name, x, y)`.
    pub(crate) points: Vec<(String, f64, f64)>,
}

const WIDTH: f64 = 960.0;
const PLOT_HEIGHT: f64 = 360.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 70.0;
/// Below the plot area: tick labels and the axis title.
const AXIS_BELOW: f64 = 58.0;
const LEGEND_COLUMN: f64 = 230.0;
const LEGEND_ROW: f64 = 22.0;

/// `&`, `<`, `>` and `"` escaped, for text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A value with three significant digits and its unit: `0.0123 ms`, `41.2 ns`, `1,180 KiB`.
pub(crate) fn value_text(value: f64, unit: &str) -> String {
    let text = if value.abs() >= 1000.0 {
        let whole = format!("{:.0}", value.round());
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) && c.is_ascii_digit() {
                grouped.push(',');
            }
            grouped.push(c);
        }
        grouped
    } else if value == 0.0 {
        "0".to_owned()
    } else {
        let digits = (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{value:.digits$}")
    };
    if unit.is_empty() { text } else { format!("{text} {unit}") }
}

/// A log axis over the positive values given: its decades and where a value falls on it.
#[derive(Debug, Clone, Copy)]
struct LogAxis {
    /// The decades at the ends, as powers of ten.
    low: i32,
    high: i32,
}

impl LogAxis {
    fn over(values: impl Iterator<Item = f64>) -> LogAxis {
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            low = low.min(v);
            high = high.max(v);
        }
        if !low.is_finite() {
            return LogAxis { low: 0, high: 1 };
        }
        let low = low.log10().floor() as i32;
        let high = (high.log10().ceil() as i32).max(low + 1);
        LogAxis { low, high }
    }

    /// `value`'s position in `0.0..=1.0` along the axis.
    fn fraction(self, value: f64) -> f64 {
        (value.log10() - f64::from(self.low)) / f64::from(self.high - self.low)
    }

    /// The tick labels: `0.01`, `0.1`, `1`, `10`, `100`, `1k`, … `1G`.
    fn ticks(self) -> impl Iterator<Item = (f64, String)> {
        (self.low..=self.high).map(move |e| {
            let label = match e {
                e if e < 0 => format!("{}", 10f64.powi(e)),
                e if e < 3 => format!("{}", 10u64.pow(e.unsigned_abs())),
                e => {
                    let (suffix, scale) = match e {
                        3..=5 => ("k", 3),
                        6..=8 => ("M", 6),
                        _ => ("G", 9),
                    };
                    format!("{}{suffix}", 10u64.pow((e - scale).unsigned_abs()))
                }
            };
            (self.fraction(10f64.powi(e)), label)
        })
    }
}

/// The SVG's frame: header, title and subtitle, and the height it needs for `series` legend
/// entries.
fn open(out: &mut String, title: &str, subtitle: &str, legend_entries: usize) -> f64 {
    let columns = (((WIDTH - LEFT - RIGHT) / LEGEND_COLUMN).floor() as usize).max(1);
    let rows = legend_entries.div_ceil(columns);
    let height = TOP + PLOT_HEIGHT + AXIS_BELOW + 16.0 + rows as f64 * LEGEND_ROW + 12.0;
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" role="img" aria-label="{label}">
<title>{label}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{LEFT}" y="26" font-size="17" font-weight="600" fill="#222">{title}</text>
<text x="{LEFT}" y="46" fill="#555">{subtitle}</text>
"##,
        label = escape(title),
        title = escape(title),
        subtitle = escape(subtitle),
    );
    height
}

/// The plot area's frame and the log y axis's grid and labels.
fn y_axis(out: &mut String, axis: LogAxis, title: &str) {
    let bottom = TOP + PLOT_HEIGHT;
    for (fraction, label) in axis.ticks() {
        let y = bottom - fraction * PLOT_HEIGHT;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#444">{label}</text>"##,
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
        );
    }
    let _ = writeln!(
        out,
        r##"<text transform="translate(16 {y:.1}) rotate(-90)" text-anchor="middle" fill="#444">{title}</text>
<rect x="{LEFT}" y="{TOP}" width="{w}" height="{PLOT_HEIGHT}" fill="none" stroke="#999"/>"##,
        y = TOP + PLOT_HEIGHT / 2.0,
        w = WIDTH - LEFT - RIGHT,
        title = escape(title),
    );
}

/// A marker centred on `(x, y)`, with its hover text.
fn marker(out: &mut String, shape: Marker, colour: &str, x: f64, y: f64, size: f64, hover: Option<&str>) {
    let r = size / 2.0;
    let title = hover.map(|h| format!("<title>{}</title>", escape(h))).unwrap_or_default();
    let polygon = |points: &[(f64, f64)]| {
        points.iter().map(|(dx, dy)| format!("{:.1},{:.1}", x + dx * r, y + dy * r)).collect::<Vec<_>>().join(" ")
    };
    let common = format!(r##"fill="{colour}" stroke="#222" stroke-width="0.8""##);
    let _ = match shape {
        Marker::Circle => write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" {common}>{title}</circle>"#),
        Marker::Square => write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" {common}>{title}</rect>"#,
            x - r * 0.85,
            y - r * 0.85,
            r * 1.7,
            r * 1.7
        ),
        Marker::TriangleUp => {
            write!(
                out,
                r#"<polygon points="{}" {common}>{title}</polygon>"#,
                polygon(&[(0.0, -1.1), (1.0, 0.7), (-1.0, 0.7)])
            )
        }
        Marker::TriangleDown => {
            write!(
                out,
                r#"<polygon points="{}" {common}>{title}</polygon>"#,
                polygon(&[(0.0, 1.1), (1.0, -0.7), (-1.0, -0.7)])
            )
        }
        Marker::Diamond => write!(
            out,
            r#"<polygon points="{}" {common}>{title}</polygon>"#,
            polygon(&[(0.0, -1.15), (1.0, 0.0), (0.0, 1.15), (-1.0, 0.0)])
        ),
        Marker::Pentagon => write!(
            out,
            r#"<polygon points="{}" {common}>{title}</polygon>"#,
            polygon(&[(0.0, -1.05), (1.0, -0.3), (0.62, 0.9), (-0.62, 0.9), (-1.0, -0.3)])
        ),
        Marker::Cross => write!(
            out,
            r#"<polygon points="{}" {common}>{title}</polygon>"#,
            polygon(&[
                (-0.35, -1.0),
                (0.35, -1.0),
                (0.35, -0.35),
                (1.0, -0.35),
                (1.0, 0.35),
                (0.35, 0.35),
                (0.35, 1.0),
                (-0.35, 1.0),
                (-0.35, 0.35),
                (-1.0, 0.35),
                (-1.0, -0.35),
                (-0.35, -0.35),
            ])
        ),
    };
}

/// The legend below the x axis: each entry the series' marker (as the plot draws it) and name.
fn legend<'a>(out: &mut String, names: impl Iterator<Item = &'a str>) {
    let columns = (((WIDTH - LEFT - RIGHT) / LEGEND_COLUMN).floor() as usize).max(1);
    let top = TOP + PLOT_HEIGHT + AXIS_BELOW + 16.0;
    for (i, name) in names.enumerate() {
        let (colour, shape) = style(i);
        let x = LEFT + (i % columns) as f64 * LEGEND_COLUMN;
        let y = top + (i / columns) as f64 * LEGEND_ROW;
        let _ = write!(out, r#"<g class="legend-item" data-series="{}">"#, escape(name));
        marker(out, shape, colour, x + 7.0, y, 11.0, None);
        let _ =
            writeln!(out, r##"<text x="{:.1}" y="{:.1}" fill="#222">{}</text></g>"##, x + 18.0, y + 4.0, escape(name));
    }
}

impl CategoryChart {
    pub(crate) fn svg(&self) -> String {
        let mut out = String::new();
        let height = open(&mut out, &self.title, &self.subtitle, self.series.len());
        let axis = LogAxis::over(self.series.iter().flat_map(|s| s.values.iter().flatten().copied()));
        y_axis(&mut out, axis, &self.y_title);
        let bottom = TOP + PLOT_HEIGHT;
        let band = (WIDTH - LEFT - RIGHT) / self.categories.len().max(1) as f64;
        for (c, category) in self.categories.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text>"##,
                LEFT + band * (c as f64 + 0.5),
                bottom + 18.0,
                escape(category)
            );
        }
        let y_of = |v: f64| bottom - axis.fraction(v) * PLOT_HEIGHT;
        let shown = |v: &Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0);
        let bar_width = band * 0.84 / self.series.len().max(1) as f64;
        for (i, series) in self.series.iter().enumerate() {
            let (colour, shape) = style(i);
            let _ = writeln!(out, r#"<g class="series" data-series="{}">"#, escape(&series.name));
            let hover =
                |c: usize, v: f64| format!("{}, {}: {}", series.name, self.categories[c], value_text(v, &self.unit));
            match self.kind {
                Kind::Bars => {
                    for (c, value) in series.values.iter().enumerate() {
                        let Some(v) = shown(value) else { continue };
                        let x = LEFT + band * c as f64 + band * 0.08 + bar_width * i as f64;
                        let y = y_of(v).min(bottom);
                        let _ = write!(
                            out,
                            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}" fill-opacity="0.85"><title>{t}</title></rect>"#,
                            w = bar_width.max(1.0),
                            h = bottom - y,
                            t = escape(&hover(c, v)),
                        );
                        let size = (bar_width * 0.9).clamp(3.0, 9.0);
                        marker(&mut out, shape, colour, x + bar_width / 2.0, y, size, Some(&hover(c, v)));
                    }
                }
                Kind::Lines => {
                    let points: Vec<(usize, f64, f64)> = series
                        .values
                        .iter()
                        .enumerate()
                        .filter_map(|(c, value)| shown(value).map(|v| (c, LEFT + band * (c as f64 + 0.5), v)))
                        .collect();
                    let path: Vec<String> = points.iter().map(|(_, x, v)| format!("{x:.1},{:.1}", y_of(*v))).collect();
                    let _ = write!(
                        out,
                        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.8"/>"#,
                        path.join(" ")
                    );
                    for (c, x, v) in points {
                        marker(&mut out, shape, colour, x, y_of(v), 9.0, Some(&hover(c, v)));
                    }
                }
            }
            out.push_str("</g>\n");
        }
        legend(&mut out, self.series.iter().map(|s| s.name.as_str()));
        debug_assert!(height > 0.0);
        out.push_str("</svg>\n");
        out
    }
}

impl ScatterChart {
    pub(crate) fn svg(&self) -> String {
        let mut out = String::new();
        open(&mut out, &self.title, &self.subtitle, self.points.len());
        let x_axis = LogAxis::over(self.points.iter().map(|p| p.1));
        let y_axis_scale = LogAxis::over(self.points.iter().map(|p| p.2));
        y_axis(&mut out, y_axis_scale, &self.y_title);
        let bottom = TOP + PLOT_HEIGHT;
        let width = WIDTH - LEFT - RIGHT;
        for (fraction, label) in x_axis.ticks() {
            let x = LEFT + fraction * width;
            let _ = writeln!(
                out,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{bottom}" stroke="#e3e3e3"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#444">{label}</text>"##,
                bottom + 18.0
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            LEFT + width / 2.0,
            bottom + 40.0,
            escape(&self.x_title)
        );
        for (i, (name, x, y)) in self.points.iter().enumerate() {
            let (colour, shape) = style(i);
            let _ = write!(out, r#"<g class="series" data-series="{}">"#, escape(name));
            if x.is_finite() && *x > 0.0 && y.is_finite() && *y > 0.0 {
                let hover = format!(
                    "{name}: {} {}, {} {}",
                    self.x_title,
                    value_text(*x, &self.x_unit),
                    self.y_title,
                    value_text(*y, &self.y_unit)
                );
                let px = LEFT + x_axis.fraction(*x) * width;
                let py = bottom - y_axis_scale.fraction(*y) * PLOT_HEIGHT;
                marker(&mut out, shape, colour, px, py, 12.0, Some(&hover));
            }
            out.push_str("</g>\n");
        }
        legend(&mut out, self.points.iter().map(|p| p.0.as_str()));
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_of_seventy_has_its_own_colour_and_marker() {
        let styles: Vec<_> = (0..70).map(style).collect();
        for (i, a) in styles.iter().enumerate() {
            assert!(!styles[i + 1..].contains(a), "series {i} repeats a style");
        }
    }

    #[test]
    fn log_axis_labels_powers_of_ten_and_never_zero() {
        let axis = LogAxis::over([0.004, 35.0, 120_000.0].into_iter());
        let labels: Vec<String> = axis.ticks().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0.001", "0.01", "0.1", "1", "10", "100", "1k", "10k", "100k", "1M"]);
        let axis = LogAxis::over([0.0, -1.0, f64::NAN].into_iter());
        assert!(axis.ticks().all(|(_, l)| l != "0"));
    }

    #[test]
    fn value_text_keeps_three_significant_digits() {
        assert_eq!(value_text(41.234, "ns"), "41.2 ns");
        assert_eq!(value_text(0.012_34, "ms"), "0.0123 ms");
        assert_eq!(value_text(1_180_000.4, "KiB"), "1,180,000 KiB");
        assert_eq!(value_text(999.4, ""), "999");
    }

    #[test]
    fn legend_markers_are_the_plot_markers() {
        let chart = ScatterChart {
            title: "t".into(),
            subtitle: "s".into(),
            x_title: "x".into(),
            x_unit: "ms".into(),
            y_title: "y".into(),
            y_unit: "ms".into(),
            points: (0..3).map(|i| (format!("r{i}"), 1.0 + f64::from(i), 2.0)).collect(),
        };
        let svg = chart.svg();
        // Series 1 is a square, series 2 a triangle: in the plot and in its legend entry.
        let series = |name: &str, class: &str| {
            let start = svg.find(&format!(r#"<g class="{class}" data-series="{name}">"#)).expect("group");
            let end = start + svg[start..].find("</g>").expect("end of group");
            svg[start..end].to_owned()
        };
        assert!(series("r1", "series").contains("<rect") && series("r1", "legend-item").contains("<rect"));
        assert!(series("r2", "series").contains("<polygon") && series("r2", "legend-item").contains("<polygon"));
        assert!(series("r0", "series").contains("<title>r0: x 1.00 ms, y 2.00 ms</title>"));
    }
}
