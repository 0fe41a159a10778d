//! Exploration cost against difficulty (the paper's Fig. 5), as a hand-written SVG.
//!
//! Each strategy is measured in its own natural unit of exploration, chosen by
//! [`primary_cost`] from the strategy name (case-insensitive, `_` read as `-`):
//!
//! | strategy name starts with          | cost                                  |
//! |------------------------------------|---------------------------------------|
//! | `reasonflux`                       | [`Cost::rounds`] (planner rounds)      |
//! | `mcts`                             | [`Cost::steps`] (reasoning steps)      |
//! | `best-of`, `bon`                   | [`Cost::trajectories`] (samples)       |
//! | `direct`, `cot`                    | 1 (one pass)                           |
//! | anything else                      | [`Cost::rounds`]                       |
//!
//! The output is deterministic: strategies sorted by name, colours by that order, numbers
//! printed with fixed precision.

use serde::{Deserialize, Serialize};

use crate::runner::Cost;
use crate::summary::{ALL_LEVELS, SummaryRow, level_cmp};

/// Which [`Cost`] field is a strategy's exploration cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryCost {
    Rounds,
    Steps,
    Trajectories,
    /// A single pass: always 1.
    One,
}

impl PrimaryCost {
    /// The cost of one solve in this unit.
    pub fn of(self, cost: &Cost) -> f64 {
        match self {
            PrimaryCost::Rounds => f64::from(cost.rounds),
            PrimaryCost::Steps => f64::from(cost.steps),
            PrimaryCost::Trajectories => f64::from(cost.trajectories),
            PrimaryCost::One => 1.0,
        }
    }

    /// Unit name for legends.
    pub fn label(self) -> &'static str {
        match self {
            PrimaryCost::Rounds => "rounds",
            PrimaryCost::Steps => "steps",
            PrimaryCost::Trajectories => "trajectories",
            PrimaryCost::One => "1 pass",
        }
    }
}

/// The exploration-cost unit of a strategy (table in the module docs).
pub fn primary_cost(strategy: &str) -> PrimaryCost {
    let s = strategy.trim().to_ascii_lowercase().replace('_', "-");
    if s.starts_with("reasonflux") {
        PrimaryCost::Rounds
    } else if s.starts_with("mcts") {
        PrimaryCost::Steps
    } else if s.starts_with("best-of") || s.starts_with("bon") {
        PrimaryCost::Trajectories
    } else if s.starts_with("direct") || s.starts_with("cot") || s.starts_with("guided") {
        PrimaryCost::One
    } else {
        PrimaryCost::Rounds
    }
}

/// One strategy's line: a mean cost per level of [`CostSeries::levels`] (`None` where the
/// strategy has no record at that level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesLine {
    pub strategy: String,
    pub unit: PrimaryCost,
    pub points: Vec<Option<f64>>,
}

/// The data of the plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostSeries {
    /// X-axis categories in natural order.
    pub levels: Vec<String>,
    /// One line per strategy, sorted by strategy name.
    pub lines: Vec<SeriesLine>,
}

/// Mean primary cost per (strategy, level) from summary rows. With `benchmark = Some(b)` only
/// that benchmark's rows are used; with `None` the benchmarks are pooled (means weighted by
/// `n_ok`). The pooled `all` rows are left out unless the selection has no other level.
pub fn cost_series(rows: &[SummaryRow], benchmark: Option<&str>) -> CostSeries {
    let selected: Vec<&SummaryRow> = rows.iter().filter(|r| benchmark.is_none_or(|b| r.benchmark == b)).collect();
    let only_all = selected.iter().all(|r| r.level == ALL_LEVELS);
    let used: Vec<&SummaryRow> = selected.into_iter().filter(|r| only_all || r.level != ALL_LEVELS).collect();

    let mut levels: Vec<String> = used.iter().map(|r| r.level.clone()).collect();
    levels.sort_by(|a, b| level_cmp(a, b));
    levels.dedup();
    let mut strategies: Vec<String> = used.iter().map(|r| r.strategy.clone()).collect();
    strategies.sort();
    strategies.dedup();

    let lines = strategies
        .into_iter()
        .map(|strategy| {
            let points = levels
                .iter()
                .map(|level| {
                    let (mut sum, mut n) = (0.0, 0usize);
                    for r in used.iter().filter(|r| r.strategy == strategy && &r.level == level) {
                        sum += r.mean_primary_cost * r.n_ok as f64;
                        n += r.n_ok;
                    }
                    (n > 0).then(|| sum / n as f64)
                })
                .collect();
            SeriesLine { unit: primary_cost(&strategy), strategy, points }
        })
        .collect();
    CostSeries { levels, lines }
}

const PALETTE: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 70.0;

/// Escape text for SVG content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` intervals up to `max`.
fn nice_step(max: f64, target: f64) -> f64 {
    let raw = max / target;
    let mag = 10f64.powf(raw.log10().floor());
    let frac = raw / mag;
    let nice = if frac <= 1.0 {
        1.0
    } else if frac <= 2.0 {
        2.0
    } else if frac <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn decimals_for(step: f64) -> usize {
    if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize }
}

/// Render the series as an SVG document: axes, y ticks with grid lines, one x tick per
/// level, one `<polyline>` (with point markers) per strategy, a legend and a title.
pub fn cost_plot_svg(series: &CostSeries, title: &str) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = series.lines.iter().flat_map(|l| l.points.iter().flatten()).copied().filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    let (step, ymax) = if max > 0.0 {
        let step = nice_step(max, 5.0);
        (step, ((max / step) - 1e-9).ceil().max(1.0) * step)
    } else {
        (0.2, 1.0)
    };
    let dec = decimals_for(step);
    let nlev = series.levels.len().max(1) as f64;
    let x_of = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / nlev;
    let y_of = |v: f64| TOP + plot_h * (1.0 - (v / ymax).clamp(0.0, 1.0));

    let mut s = String::new();
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{HEIGHT:.0}\" viewBox=\"0 0 {WIDTH:.0} {HEIGHT:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    ));
    s.push_str(&format!("<rect x=\"0\" y=\"0\" width=\"{WIDTH:.0}\" height=\"{HEIGHT:.0}\" fill=\"white\"/>\n"));
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"30\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
        LEFT + plot_w / 2.0,
        xml_escape(title)
    ));

    // Y ticks and grid.
    s.push_str("<g class=\"y-axis\">\n");
    let nticks = (ymax / step).round() as usize;
    for k in 0..=nticks {
        let v = step * k as f64;
        let y = y_of(v);
        s.push_str(&format!("<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e0e0e0\"/>\n", LEFT + plot_w));
        s.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.*}</text>\n", LEFT - 8.0, y + 4.0, dec, v));
    }
    s.push_str("</g>\n");

    // X ticks.
    s.push_str("<g class=\"x-axis\">\n");
    for (i, level) in series.levels.iter().enumerate() {
        let x = x_of(i);
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n",
            TOP + plot_h,
            TOP + plot_h + 5.0
        ));
        s.push_str(&format!("<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n", TOP + plot_h + 20.0, xml_escape(level)));
    }
    s.push_str("</g>\n");

    // Axes and their labels.
    s.push_str(&format!("<line x1=\"{LEFT:.1}\" y1=\"{TOP:.1}\" x2=\"{LEFT:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n", TOP + plot_h));
    s.push_str(&format!(
        "<line x1=\"{LEFT:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n",
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h
    ));
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">difficulty level</text>\n",
        LEFT + plot_w / 2.0,
        HEIGHT - 20.0
    ));
    s.push_str(&format!(
        "<text x=\"20\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 20 {:.1})\">mean exploration cost</text>\n",
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    ));

    // Lines.
    for (k, line) in series.lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64)> =
            line.points.iter().enumerate().filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (x_of(i), y_of(v)))).collect();
        let coords: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        s.push_str(&format!(
            "<g class=\"series\" data-strategy=\"{}\">\n<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            xml_escape(&line.strategy),
            coords.join(" ")
        ));
        for (x, y) in &pts {
            s.push_str(&format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{color}\"/>\n"));
        }
        s.push_str("</g>\n");
    }

    // Legend.
    s.push_str("<g class=\"legend\">\n");
    let lx = LEFT + plot_w + 20.0;
    for (k, line) in series.lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let y = TOP + 10.0 + 22.0 * k as f64;
        s.push_str(&format!(
            "<line x1=\"{lx:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"2\"/>\n",
            lx + 24.0
        ));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\">{} ({})</text>\n",
            lx + 30.0,
            y + 4.0,
            xml_escape(&line.strategy),
            line.unit.label()
        ));
    }
    s.push_str("</g>\n</svg>\n");
    s
}
