//! Hand-written SVG charts: round-number ticks, linear scales, axes with units, and the
//! chart kinds of the report (fans, bars with whiskers, a histogram with markers, a tornado).
//!
//! Every chart is drawn in a `viewBox` of user units; the page's stylesheet sizes it in CSS
//! units and colours it through classes.

use std::fmt::Write;

use super::escape::escape;
use crate::thousands;

/// Round-number ticks: multiples of 1, 2 or 5 × 10^k from one at or below the range's low end
/// to one at or above its high end.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    /// The ticks, ascending.
    pub values: Vec<f64>,
    /// The distance between ticks.
    pub step: f64,
}

impl Ticks {
    /// The first tick.
    pub fn low(&self) -> f64 {
        self.values[0]
    }

    /// The last tick.
    pub fn high(&self) -> f64 {
        self.values[self.values.len() - 1]
    }

    /// Decimals that show every tick exactly.
    pub fn decimals(&self) -> usize {
        if self.step >= 1.0 {
            0
        } else {
            (-self.step.log10() - 1e-9).ceil() as usize
        }
    }

    /// A tick's label: its value with the ticks' decimals and thousands separators.
    pub fn label(&self, value: f64) -> String {
        thousands(value, self.decimals())
    }
}

/// Ticks covering `[low, high]` in about `intervals` steps of 1, 2 or 5 × 10^k. An empty range
/// is widened around its value (to `[0, 1]` at zero); non-finite ends read as `[0, 1]`.
pub fn nice_ticks(low: f64, high: f64, intervals: usize) -> Ticks {
    let (mut low, mut high) = if low.is_finite() && high.is_finite() {
        (low.min(high), low.max(high))
    } else {
        (0.0, 1.0)
    };
    if high - low <= f64::EPSILON * high.abs().max(low.abs()) {
        if low == 0.0 {
            high = 1.0;
        } else {
            let pad = low.abs() * 0.1;
            low -= pad;
            high += pad;
        }
    }
    let raw = (high - low) / intervals.max(1) as f64;
    let mut exponent = raw.log10().floor() as i32;
    let fraction = raw / 10f64.powi(exponent);
    let mut multiple: i64 = if fraction <= 1.0 + 1e-9 {
        1
    } else if fraction <= 2.0 + 1e-9 {
        2
    } else if fraction <= 5.0 + 1e-9 {
        5
    } else {
        10
    };
    if multiple == 10 {
        multiple = 1;
        exponent += 1;
    }
    // value(i) = i · multiple · 10^exponent, computed from integers so that 0.6 is 0.6.
    let value = |i: i64| {
        let units = (i * multiple) as f64;
        let v = if exponent < 0 {
            units / 10f64.powi(-exponent)
        } else {
            units * 10f64.powi(exponent)
        };
        v + 0.0 // no -0
    };
    let step = value(1);
    let first = (low / step + 1e-9).floor() as i64;
    let last = (high / step - 1e-9).ceil() as i64;
    Ticks {
        values: (first..=last.max(first + 1)).map(value).collect(),
        step,
    }
}

/// A linear map from a domain of values to a range of user units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    domain: (f64, f64),
    range: (f64, f64),
}

impl Scale {
    /// Maps `domain.0` to `range.0` and `domain.1` to `range.1`.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Scale {
        Scale { domain, range }
    }

    /// Where `value` lands (the middle of the range for an empty domain).
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            (r0 + r1) / 2.0
        } else {
            r0 + (value - d0) / (d1 - d0) * (r1 - r0)
        }
    }
}

/// A chart's canvas: its size and the margins around the plot area (user units).
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Width of the view box.
    pub width: f64,
    /// Height of the view box.
    pub height: f64,
    /// Margin left of the plot (y tick labels and the y title).
    pub left: f64,
    /// Margin right of the plot.
    pub right: f64,
    /// Margin above the plot.
    pub top: f64,
    /// Margin below the plot (x tick labels and the x title).
    pub bottom: f64,
}

impl Frame {
    /// The usual chart: 720 × 300 with room for tick labels and titles.
    pub const STANDARD: Frame = Frame {
        width: 720.0,
        height: 300.0,
        left: 76.0,
        right: 20.0,
        top: 18.0,
        bottom: 50.0,
    };

    /// The x range of the plot area.
    pub fn x_range(&self) -> (f64, f64) {
        (self.left, self.width - self.right)
    }

    /// The y range of the plot area, bottom first (values grow upwards).
    pub fn y_range(&self) -> (f64, f64) {
        (self.height - self.bottom, self.top)
    }
}

/// The axes of a chart: scales, ticks and titles with their units.
pub struct Axes {
    /// The canvas.
    pub frame: Frame,
    /// Horizontal scale.
    pub x: Scale,
    /// Vertical scale.
    pub y: Scale,
    /// x ticks: position (domain value) and label.
    pub x_ticks: Vec<(f64, String)>,
    /// y ticks, if the y axis is numeric.
    pub y_ticks: Option<Ticks>,
    /// Title of the x axis, with its unit.
    pub x_title: String,
    /// Title of the y axis, with its unit.
    pub y_title: String,
}

impl Axes {
    /// Axes over `x_domain` and the span of `y_ticks` on `frame`.
    pub fn new(
        frame: Frame,
        x_domain: (f64, f64),
        x_ticks: Vec<(f64, String)>,
        y_ticks: Ticks,
        x_title: impl Into<String>,
        y_title: impl Into<String>,
    ) -> Axes {
        Axes {
            frame,
            x: Scale::new(x_domain, frame.x_range()),
            y: Scale::new((y_ticks.low(), y_ticks.high()), frame.y_range()),
            x_ticks,
            y_ticks: Some(y_ticks),
            x_title: x_title.into(),
            y_title: y_title.into(),
        }
    }

    /// Grid lines, axis lines, tick labels and titles.
    fn draw(&self, out: &mut String) {
        let f = &self.frame;
        let (x0, x1) = f.x_range();
        let (y0, y1) = f.y_range();
        if let Some(ticks) = &self.y_ticks {
            for &v in &ticks.values {
                let y = self.y.map(v);
                line(out, (x0, y), (x1, y), "grid");
                text(out, (x0 - 6.0, y + 4.0), "end", &ticks.label(v), "tick");
            }
        }
        for (v, label) in &self.x_ticks {
            let x = self.x.map(*v);
            line(out, (x, y0), (x, y0 + 5.0), "axis");
            text(out, (x, y0 + 18.0), "middle", label, "tick");
        }
        line(out, (x0, y0), (x1, y0), "axis");
        line(out, (x0, y0), (x0, y1), "axis");
        text(
            out,
            ((x0 + x1) / 2.0, f.height - 8.0),
            "middle",
            &self.x_title,
            "title",
        );
        let (cx, cy) = (14.0, (y0 + y1) / 2.0);
        let _ = write!(
            out,
            r#"<text x="{cx:.1}" y="{cy:.1}" text-anchor="middle" class="title" transform="rotate(-90 {cx:.1} {cy:.1})">{}</text>"#,
            escape(&self.y_title)
        );
    }
}

/// Opens an SVG element of `frame`'s view box, labelled `label` for screen readers.
fn open(frame: &Frame, label: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {} {}" role="img" aria-label="{label}"><title>{label}</title>"#,
        frame.width,
        frame.height,
        label = escape(label)
    )
}

fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), class: &str) {
    let _ = write!(
        out,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" class="{class}"/>"#
    );
}

fn text(out: &mut String, (x, y): (f64, f64), anchor: &str, content: &str, class: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
        escape(content)
    );
}

fn points(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut out = String::new();
    for (i, (x, y)) in points.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{x:.1},{y:.1}");
    }
    out
}

/// A note in the middle of an empty plot.
fn empty_note(out: &mut String, frame: &Frame, note: &str) {
    let (x0, x1) = frame.x_range();
    let (y0, y1) = frame.y_range();
    text(
        out,
        ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
        "middle",
        note,
        "note",
    );
}

/// The contiguous runs of months that have a value.
fn runs_with_values<T>(values: &[Option<T>]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut t = 0;
    while t < values.len() {
        if values[t].is_none() {
            t += 1;
            continue;
        }
        let start = t;
        while t < values.len() && values[t].is_some() {
            t += 1;
        }
        runs.push(start..t);
    }
    runs
}

/// The x ticks of a monthly chart: each month's position and its label.
fn month_axis_ticks(month_ticks: &[(usize, String)]) -> Vec<(f64, String)> {
    month_ticks
        .iter()
        .map(|(t, label)| (*t as f64, label.clone()))
        .collect()
}

/// One line of a [`line_chart`].
pub struct LineSeries<'a> {
    /// Its name in the legend (shown when the chart has several lines).
    pub name: &'a str,
    /// Per month: the value in the unit of the axis.
    pub values: &'a [Option<f64>],
    /// Drawn dashed (to tell it from a solid line).
    pub dashed: bool,
}

/// Monthly series as lines; months without a value break a line.
pub struct LineInput<'a> {
    /// Screen-reader label.
    pub label: &'a str,
    /// The lines, all with the same months.
    pub series: &'a [LineSeries<'a>],
    /// Per month: its position on the x axis and its tick label when it has one.
    pub month_ticks: Vec<(usize, String)>,
    /// Title of the x axis.
    pub x_title: &'a str,
    /// Title of the y axis, with its unit.
    pub y_title: &'a str,
}

/// Draws a line chart of monthly series, with a legend when there are several.
pub fn line_chart(input: &LineInput) -> String {
    let frame = Frame::STANDARD;
    let mut out = open(&frame, input.label);
    let months = input
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0);
    let (low, high) = input
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let axes = Axes::new(
        frame,
        (0.0, months.saturating_sub(1).max(1) as f64),
        month_axis_ticks(&input.month_ticks),
        nice_ticks(low, high, 5),
        input.x_title,
        input.y_title,
    );
    axes.draw(&mut out);
    if input
        .series
        .iter()
        .all(|s| s.values.iter().all(Option::is_none))
    {
        empty_note(&mut out, &frame, "no value in any month");
    }
    for (index, series) in input.series.iter().enumerate() {
        let class = if series.dashed {
            "median dashed"
        } else {
            "median"
        };
        for months in runs_with_values(series.values) {
            let run: Vec<(f64, f64)> = months
                .map(|m| {
                    let value = series.values[m].expect("a value");
                    (axes.x.map(m as f64), axes.y.map(value))
                })
                .collect();
            if let [(x, y)] = run[..] {
                let _ = write!(
                    out,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" class="dot"/>"#
                );
            } else {
                let _ = write!(
                    out,
                    r#"<polyline points="{}" class="{class}"/>"#,
                    points(run.into_iter())
                );
            }
        }
        if input.series.len() > 1 {
            let (x0, _) = frame.x_range();
            let y = frame.top + 12.0 + 16.0 * index as f64;
            line(&mut out, (x0 + 10.0, y - 4.0), (x0 + 34.0, y - 4.0), class);
            text(&mut out, (x0 + 40.0, y), "start", series.name, "value");
        }
    }
    out.push_str("</svg>");
    out
}

/// A series of monthly quantiles (5, 25, 50, 75, 95 %) as a fan: the 5–95 % band, the
/// 25–75 % band and the median against months; months without a value break the fan.
pub struct FanInput<'a> {
    /// Screen-reader label.
    pub label: &'a str,
    /// Per month: the quantiles, already in the unit of the axis.
    pub quantiles: &'a [Option<[f64; 5]>],
    /// Per month: its position on the x axis and its tick label when it has one.
    pub month_ticks: Vec<(usize, String)>,
    /// Title of the x axis.
    pub x_title: &'a str,
    /// Title of the y axis, with its unit.
    pub y_title: &'a str,
}

/// Draws a fan chart.
pub fn fan_chart(input: &FanInput) -> String {
    let frame = Frame::STANDARD;
    let mut out = open(&frame, input.label);
    let months = input.quantiles.len();
    let values = input.quantiles.iter().flatten();
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), q| {
        (lo.min(q[0]), hi.max(q[4]))
    });
    let axes = Axes::new(
        frame,
        (0.0, months.saturating_sub(1).max(1) as f64),
        month_axis_ticks(&input.month_ticks),
        nice_ticks(low, high, 5),
        input.x_title,
        input.y_title,
    );
    axes.draw(&mut out);
    if !low.is_finite() {
        empty_note(&mut out, &frame, "no path has a value in any month");
    }
    for months in runs_with_values(input.quantiles) {
        let run: Vec<(f64, [f64; 5])> = months
            .map(|m| (axes.x.map(m as f64), input.quantiles[m].expect("a value")))
            .collect();
        for (lower, upper, class) in [(0, 4, "band90"), (1, 3, "band50")] {
            let outline = run
                .iter()
                .map(|(x, q)| (*x, axes.y.map(q[upper])))
                .chain(run.iter().rev().map(|(x, q)| (*x, axes.y.map(q[lower]))));
            let _ = write!(
                out,
                r#"<polygon points="{}" class="{class}"/>"#,
                points(outline)
            );
        }
        if run.len() == 1 {
            let (x, q) = run[0];
            let _ = write!(
                out,
                r#"<circle cx="{x:.1}" cy="{:.1}" r="2.5" class="dot"/>"#,
                axes.y.map(q[2])
            );
        } else {
            let median = run.iter().map(|(x, q)| (*x, axes.y.map(q[2])));
            let _ = write!(
                out,
                r#"<polyline points="{}" class="median"/>"#,
                points(median)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A bar per category with a whisker from `low` to `high` and the bar's value above it.
pub struct Bar {
    /// Tick label under the bar.
    pub label: String,
    /// Height of the bar.
    pub value: f64,
    /// Whisker's low end.
    pub low: f64,
    /// Whisker's high end.
    pub high: f64,
    /// Text above the whisker.
    pub annotation: String,
}

/// Vertical bars with whiskers.
pub fn bar_chart(label: &str, bars: &[Bar], x_title: &str, y_title: &str) -> String {
    let frame = Frame::STANDARD;
    let mut out = open(&frame, label);
    let top = bars.iter().map(|b| b.high.max(b.value)).fold(0.0, f64::max);
    let bottom = bars.iter().map(|b| b.low.min(b.value)).fold(0.0, f64::min);
    // Room for the annotations above the highest whisker.
    let y_ticks = nice_ticks(bottom, top * 1.12, 5);
    let x_ticks = bars
        .iter()
        .enumerate()
        .map(|(i, b)| (i as f64 + 1.0, b.label.clone()))
        .collect();
    let axes = Axes::new(
        frame,
        (0.4, bars.len() as f64 + 0.6),
        x_ticks,
        y_ticks,
        x_title,
        y_title,
    );
    axes.draw(&mut out);
    let width = (axes.x.map(1.0) - axes.x.map(0.0)) * 0.55;
    for (i, bar) in bars.iter().enumerate() {
        let x = axes.x.map(i as f64 + 1.0);
        let (y0, y1) = (axes.y.map(0.0), axes.y.map(bar.value));
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" class="bar"/>"#,
            x - width / 2.0,
            y0.min(y1),
            (y0 - y1).abs()
        );
        let (lo, hi) = (axes.y.map(bar.low), axes.y.map(bar.high));
        line(&mut out, (x, lo), (x, hi), "whisker");
        line(&mut out, (x - 5.0, lo), (x + 5.0, lo), "whisker");
        line(&mut out, (x - 5.0, hi), (x + 5.0, hi), "whisker");
        text(&mut out, (x, hi - 5.0), "middle", &bar.annotation, "value");
    }
    out.push_str("</svg>");
    out
}

/// A vertical marker on a histogram.
pub struct Marker {
    /// Position on the x axis.
    pub x: f64,
    /// Label at its top.
    pub label: String,
    /// Dashed (an expected shortfall) or solid (a value at risk).
    pub dashed: bool,
}

/// A histogram of counts already binned: bin `i` spans `[i·bin_width, (i + 1)·bin_width)`,
/// over round-number ticks, with labelled vertical markers.
pub fn binned_histogram(
    label: &str,
    bin_width: f64,
    counts: &[u64],
    markers: &[Marker],
    x_title: &str,
    y_title: &str,
) -> String {
    let high = markers
        .iter()
        .map(|m| m.x)
        .fold(bin_width * counts.len() as f64, f64::max);
    let x_ticks = nice_ticks(0.0, high, 6);
    draw_histogram(
        label,
        &x_ticks,
        (0.0, bin_width, counts),
        markers,
        (x_title, y_title),
    )
}

/// Draws bars of `counts` in bins of `width` from `low` on `x_ticks`.
fn draw_histogram(
    label: &str,
    x_ticks: &Ticks,
    (low, width, counts): (f64, f64, &[u64]),
    markers: &[Marker],
    (x_title, y_title): (&str, &str),
) -> String {
    let frame = Frame {
        top: 18.0 + 14.0 * markers.len() as f64,
        ..Frame::STANDARD
    };
    let mut out = open(&frame, label);
    let most = counts.iter().copied().max().unwrap_or(0);
    let y_ticks = nice_ticks(0.0, most.max(1) as f64, 4);
    let y_ticks = if y_ticks.step < 1.0 {
        nice_ticks(0.0, (most.max(1) as f64).max(4.0), 4)
    } else {
        y_ticks
    };
    let x_labels = x_ticks
        .values
        .iter()
        .map(|&v| (v, x_ticks.label(v)))
        .collect();
    let axes = Axes::new(
        frame,
        (x_ticks.low(), x_ticks.high()),
        x_labels,
        y_ticks,
        x_title,
        y_title,
    );
    axes.draw(&mut out);
    if most == 0 {
        empty_note(&mut out, &frame, "no path lost money");
    }
    for (i, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let x0 = axes.x.map(low + width * i as f64);
        let x1 = axes.x.map(low + width * (i + 1) as f64);
        let (y0, y1) = (axes.y.map(0.0), axes.y.map(count as f64));
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" class="bar"/>"#,
            (x1 - x0 - 1.0).max(0.5),
            y0 - y1
        );
    }
    let (plot_left, plot_right) = frame.x_range();
    for (k, marker) in markers.iter().enumerate() {
        let x = axes.x.map(marker.x);
        let label_y = 14.0 + 14.0 * k as f64;
        let class = if marker.dashed { "es" } else { "var" };
        line(&mut out, (x, frame.y_range().0), (x, label_y + 3.0), class);
        let anchor = if x > (plot_left + plot_right) / 2.0 {
            "end"
        } else {
            "start"
        };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        text(&mut out, (x + dx, label_y), anchor, &marker.label, "marker");
    }
    out.push_str("</svg>");
    out
}

/// A ranked horizontal bar with a whisker: one row of a tornado.
pub struct TornadoRow {
    /// The row's label, left of the plot.
    pub label: String,
    /// The change.
    pub value: f64,
    /// Whisker's low end.
    pub low: f64,
    /// Whisker's high end.
    pub high: f64,
}

/// Horizontal bars from zero, one row each, in the order given.
pub fn tornado(label: &str, rows: &[TornadoRow], x_title: &str) -> String {
    let frame = Frame {
        height: 18.0 + 24.0 * rows.len().max(1) as f64 + 50.0,
        left: 250.0,
        ..Frame::STANDARD
    };
    let mut out = open(&frame, label);
    let low = rows.iter().map(|r| r.low.min(r.value)).fold(0.0, f64::min);
    let high = rows.iter().map(|r| r.high.max(r.value)).fold(0.0, f64::max);
    let ticks = nice_ticks(low, high, 6);
    let x_labels = ticks.values.iter().map(|&v| (v, ticks.label(v))).collect();
    let mut axes = Axes::new(
        frame,
        (ticks.low(), ticks.high()),
        x_labels,
        nice_ticks(0.0, 1.0, 1),
        x_title,
        "",
    );
    axes.y_ticks = None;
    axes.draw(&mut out);
    let (_, top) = frame.y_range();
    let zero = axes.x.map(0.0);
    line(&mut out, (zero, frame.y_range().0), (zero, top), "axis");
    for (i, row) in rows.iter().enumerate() {
        let y = top + 24.0 * i as f64 + 12.0;
        let x = axes.x.map(row.value);
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="14" class="bar"/>"#,
            zero.min(x),
            y - 7.0,
            (x - zero).abs()
        );
        let (lo, hi) = (axes.x.map(row.low), axes.x.map(row.high));
        line(&mut out, (lo, y), (hi, y), "whisker");
        line(&mut out, (lo, y - 4.0), (lo, y + 4.0), "whisker");
        line(&mut out, (hi, y - 4.0), (hi, y + 4.0), "whisker");
        text(
            &mut out,
            (frame.left - 8.0, y + 4.0),
            "end",
            &row.label,
            "tick",
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.values, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(t.step, 0.2);
        assert_eq!(t.decimals(), 1);
        let t = nice_ticks(3.0, 97.0, 5);
        assert_eq!(t.values, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(t.label(100.0), "100");
        let t = nice_ticks(-0.013, 0.042, 5);
        assert_eq!(t.values, [-0.02, 0.0, 0.02, 0.04, 0.06]);
        assert_eq!(t.decimals(), 2);
        assert_eq!(t.label(-0.02), "-0.02");
        let t = nice_ticks(0.0, 1_234_567.0, 4);
        assert_eq!(t.step, 500_000.0);
        assert_eq!(t.values.last(), Some(&1_500_000.0));
        assert_eq!(t.label(1_500_000.0), "1,500,000");
        // A step of 10 × 10^k is 1 × 10^(k+1).
        assert_eq!(nice_ticks(0.0, 70.0, 1).values, [0.0, 100.0]);
        // Ends already on ticks stay ends.
        assert_eq!(
            nice_ticks(10.0, 50.0, 4).values,
            [10.0, 20.0, 30.0, 40.0, 50.0]
        );
    }

    #[test]
    fn empty_and_odd_ranges_still_give_ticks() {
        assert_eq!(
            nice_ticks(0.0, 0.0, 5).values,
            [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        let t = nice_ticks(5.0, 5.0, 5);
        assert!(
            t.low() <= 5.0 && t.high() >= 5.0 && t.values.len() >= 2,
            "{t:?}"
        );
        assert_eq!(nice_ticks(1.0, 0.0, 5), nice_ticks(0.0, 1.0, 5));
        assert_eq!(nice_ticks(f64::NAN, 3.0, 5), nice_ticks(0.0, 1.0, 5));
        for (low, high) in [(0.37, 0.41), (-3e9, 7e9), (1e-7, 3e-7), (0.0, 0.999)] {
            let t = nice_ticks(low, high, 5);
            assert!(t.low() <= low && t.high() >= high, "{t:?}");
            assert!((3..=12).contains(&t.values.len()), "{t:?}");
        }
    }

    #[test]
    fn scales_map_values_to_pixels() {
        let frame = Frame::STANDARD;
        let axes = Axes::new(
            frame,
            (0.0, 60.0),
            Vec::new(),
            nice_ticks(0.0, 2.0, 4),
            "x",
            "y",
        );
        // x: 0..60 onto 76..700; 30 is the middle.
        assert_eq!(axes.x.map(0.0), 76.0);
        assert_eq!(axes.x.map(30.0), 388.0);
        assert_eq!(axes.x.map(60.0), 700.0);
        // y: 0..2 onto 250..18, upwards.
        assert_eq!(axes.y.map(0.0), 250.0);
        assert_eq!(axes.y.map(1.0), 134.0);
        assert_eq!(axes.y.map(2.0), 18.0);
        assert_eq!(Scale::new((1.0, 1.0), (0.0, 10.0)).map(1.0), 5.0);
    }

    #[test]
    fn a_bar_lands_where_its_value_says() {
        let svg = bar_chart(
            "PD",
            &[Bar {
                label: "1".into(),
                value: 0.5,
                low: 0.4,
                high: 0.6,
                annotation: "0.50 %".into(),
            }],
            "year",
            "PD (%)",
        );
        // y ticks 0..0.8 (0.6 · 1.12 rounded up) onto 250..18: 0.5 lands at 105.
        assert!(svg.contains(r#"y="105.0""#), "{svg}");
        assert!(svg.contains(">0.50 %</text>"));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    }
}
