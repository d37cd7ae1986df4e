//! Inline SVG charts for the run report: bars, grouped bars and lines, with
//! axes, ticks and a legend. Plain strings, no scripts, no network.

use std::fmt::Write;

/// The report's palette: colour-blind safe (Okabe-Ito), in series order.
pub const PALETTE: &[&str] = &["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

/// How axis values are written.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// 0.25 -> 25%
    Percent,
    /// 1234.5 -> 1,234.5
    Number,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{:.0}%", v * 100.0),
            Unit::Number => thousands(v),
        }
    }
}

/// 1234567.891 -> "1,234,568"; small numbers keep up to two decimals.
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v.abs() < 100.0 {
        let s = format!("{v:.2}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let rounded = v.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A series of a chart.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    /// Dashed line (e.g. a fitted curve beside observed points).
    pub dashed: bool,
    /// Palette index; by default the series' position.
    pub colour: Option<usize>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Series {
        Series { name: name.into(), values, dashed: false, colour: None }
    }

    pub fn colour(mut self, index: usize) -> Series {
        self.colour = Some(index);
        self
    }

    fn colour_of(&self, position: usize) -> &'static str {
        PALETTE[self.colour.unwrap_or(position) % PALETTE.len()]
    }

    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }
}

/// "Nice" axis ticks covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| span / s <= 6.0).unwrap_or(magnitude * 10.0);
    let start = (lo / step).floor() * step;
    let end = (hi / step - 1e-9).ceil() * step;
    let mut out = Vec::new();
    let mut t = start;
    while t <= end + step * 1e-6 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

struct Frame {
    lo: f64,
    hi: f64,
}

impl Frame {
    fn new(values: impl Iterator<Item = f64>, include_zero: bool) -> Frame {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if include_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if hi - lo < 1e-12 {
            hi = lo + 1.0;
        }
        let t = ticks(lo, hi);
        Frame { lo: t[0].min(lo), hi: t[t.len() - 1].max(hi) }
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }
}

fn open(svg: &mut String, label: &str) {
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">"#,
        escape(label)
    );
}

fn y_axis(svg: &mut String, frame: &Frame, unit: Unit) {
    for t in ticks(frame.lo, frame.hi) {
        let y = frame.y(t);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            unit.format(t)
        );
    }
    let zero = frame.y(0.0_f64.clamp(frame.lo, frame.hi));
    let _ = write!(svg, r##"<line x1="{LEFT}" x2="{}" y1="{zero:.1}" y2="{zero:.1}" stroke="#888"/>"##, WIDTH - RIGHT);
}

/// The legend below the plot; series without a name are left out of it.
fn legend(svg: &mut String, series: &[Series], lines: bool) {
    // one row, or two when the names do not fit
    let width = |s: &Series| 28.0 + 6.5 * s.name.chars().count() as f64;
    let wraps = series.iter().filter(|s| !s.name.is_empty()).map(width).sum::<f64>() > WIDTH - LEFT;
    let mut x = LEFT;
    let mut y = if wraps { HEIGHT - 22.0 } else { HEIGHT - 10.0 };
    for (i, s) in series.iter().enumerate() {
        if s.name.is_empty() {
            continue;
        }
        if x + width(s) > WIDTH && x > LEFT {
            x = LEFT;
            y += 14.0;
        }
        let colour = s.colour_of(i);
        if lines {
            let dash = if s.dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(
                svg,
                r#"<line x1="{x}" x2="{}" y1="{}" y2="{}" stroke="{colour}" stroke-width="2"{dash}/>"#,
                x + 16.0,
                y - 4.0,
                y - 4.0
            );
        } else {
            let _ = write!(svg, r#"<rect x="{x}" y="{}" width="12" height="10" fill="{colour}"/>"#, y - 9.0);
        }
        let _ = write!(svg, r##"<text x="{}" y="{y}" fill="#333">{}</text>"##, x + 20.0, escape(&s.name));
        x += width(s);
    }
}

/// Vertical bars, grouped by category, one colour per series.
pub fn bars(label: &str, categories: &[String], series: &[Series], unit: Unit) -> String {
    let frame = Frame::new(series.iter().flat_map(|s| s.values.iter().copied()), true);
    let mut svg = String::new();
    open(&mut svg, label);
    y_axis(&mut svg, &frame, unit);
    let band = (WIDTH - LEFT - RIGHT) / categories.len().max(1) as f64;
    let bar = (band * 0.8) / series.len().max(1) as f64;
    for (c, category) in categories.iter().enumerate() {
        let x0 = LEFT + band * c as f64 + band * 0.1;
        for (i, s) in series.iter().enumerate() {
            let v = s.values.get(c).copied().unwrap_or(0.0);
            let (y1, y2) = (frame.y(v.max(0.0)), frame.y(v.min(0.0)));
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                x0 + bar * i as f64,
                (bar - 2.0).max(1.0),
                (y2 - y1).max(0.5),
                s.colour_of(i),
                escape(&format!("{category}, {}", s.name)),
                unit.format(v)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            LEFT + band * (c as f64 + 0.5),
            HEIGHT - BOTTOM + 16.0,
            escape(category)
        );
    }
    if series.len() > 1 {
        legend(&mut svg, series, false);
    }
    svg.push_str("</svg>");
    svg
}

/// Lines over shared x positions (`x` gives each point's position, `x_labels` the ticks to write).
pub fn lines(
    label: &str,
    x: &[f64],
    x_labels: &[(f64, String)],
    series: &[Series],
    unit: Unit,
    diagonal: bool,
) -> String {
    let frame =
        Frame::new(series.iter().flat_map(|s| s.values.iter().copied()), diagonal || matches!(unit, Unit::Percent));
    let (x_lo, x_hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let (x_lo, x_hi) = if x_hi > x_lo { (x_lo, x_hi) } else { (0.0, 1.0) };
    let px = |v: f64| LEFT + (WIDTH - LEFT - RIGHT) * (v - x_lo) / (x_hi - x_lo);
    let mut svg = String::new();
    open(&mut svg, label);
    y_axis(&mut svg, &frame, unit);
    for (v, text) in x_labels {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            px(*v),
            HEIGHT - BOTTOM + 16.0,
            escape(text)
        );
    }
    if diagonal {
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="2 3"/>"##,
            px(x_lo),
            frame.y(x_lo),
            px(x_hi),
            frame.y(x_hi)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = s.colour_of(i);
        let points: Vec<String> = x
            .iter()
            .zip(&s.values)
            .filter(|(_, v)| v.is_finite())
            .map(|(xv, yv)| format!("{:.1},{:.1}", px(*xv), frame.y(*yv)))
            .collect();
        let dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
            points.join(" "),
            escape(&s.name)
        );
        if points.len() <= 24 && !s.dashed {
            for p in &points {
                let (cx, cy) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(svg, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>"#);
            }
        }
    }
    legend(&mut svg, series, true);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 1.0);
        assert_eq!(t.len(), 6, "{t:?}");
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-9), "{t:?}");
        let t = ticks(-13.0, 42.0);
        assert!(t[0] <= -13.0 && *t.last().unwrap() >= 42.0, "{t:?}");
    }

    #[test]
    fn numbers_are_written_for_people() {
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(-2500.0), "-2,500");
        assert_eq!(thousands(27.5667), "27.57");
        assert_eq!(Unit::Percent.format(0.4157), "42%");
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars("a <b>", &["x&y".to_string()], &[Series::new("s", vec![1.0])], Unit::Number);
        assert!(svg.contains("x&amp;y") && svg.contains("a &lt;b&gt;"), "{svg}");
    }
}
