//! A small line chart as inline SVG: axes with round ticks, lines and step curves, a legend.
//! Enough for Kaplan–Meier, ROC and training curves without any script or external file.

use std::fmt::Write as _;

/// Colours that stay apart for colour-blind readers (Okabe–Ito).
pub const PALETTE: [&str; 6] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub colour: &'static str,
    /// Kaplan–Meier style: horizontal, then vertical.
    pub step: bool,
    pub dashed: bool,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub width: f64,
    pub height: f64,
    pub series: Vec<Series>,
    /// Free text at the right of the title row (a p-value, the epoch kept).
    pub note: Option<String>,
    /// Draws the y = x diagonal (ROC charts).
    pub diagonal: bool,
}

const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const BOTTOM: f64 = 44.0;
/// The legend's rows sit between the title and the plot, so no entry covers a curve.
const TITLE_ROW: f64 = 24.0;
const LEGEND_ROW: f64 = 17.0;
/// About the width of one character of the legend's 12 px text.
const CHAR_W: f64 = 6.6;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Round tick values covering [lo, hi], about `n` of them.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Dividing by the inverse of a fractional step keeps 3 × 0.2 from reading 0.6000000000000001.
    let per_unit = (1.0 / step).round();
    (first..=last).map(|k| if step < 1.0 { k as f64 / per_unit } else { k as f64 * step }).collect()
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Chart {
    fn sx(&self, v: f64) -> f64 {
        LEFT + (v - self.x.0) / (self.x.1 - self.x.0) * (self.width - LEFT - RIGHT)
    }

    fn sy(&self, v: f64) -> f64 {
        let top = self.top();
        self.height - BOTTOM - (v - self.y.0) / (self.y.1 - self.y.0) * (self.height - top - BOTTOM)
    }

    /// Each legend entry's row and x position, packed left to right within the plot's width.
    fn legend_layout(&self) -> Vec<(usize, f64)> {
        let (mut row, mut x) = (0, LEFT);
        self.series
            .iter()
            .map(|s| {
                let w = 30.0 + CHAR_W * s.label.chars().count() as f64 + 14.0;
                if x > LEFT && x + w > self.width - RIGHT {
                    (row, x) = (row + 1, LEFT);
                }
                let at = (row, x);
                x += w;
                at
            })
            .collect()
    }

    fn top(&self) -> f64 {
        let rows = self.legend_layout().last().map_or(0, |(r, _)| r + 1);
        TITLE_ROW + LEGEND_ROW * rows as f64 + 8.0
    }

    pub fn render(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}">"#, esc(&self.title));
        let _ = write!(s, r##"<text x="{LEFT}" y="16" class="ct">{}</text>"##, esc(&self.title));
        let (x0, x1, y0, y1) = (self.sx(self.x.0), self.sx(self.x.1), self.sy(self.y.0), self.sy(self.y.1));
        for t in ticks(self.y.0, self.y.1, 5) {
            let y = self.sy(t);
            let _ = write!(s, r##"<line x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="tl" text-anchor="end">{}</text>"##, x0 - 6.0, y + 4.0, fmt_tick(t));
        }
        for t in ticks(self.x.0, self.x.1, 6) {
            let x = self.sx(t);
            let _ = write!(s, r##"<line x1="{x:.1}" x2="{x:.1}" y1="{y0}" y2="{}" class="axis"/><text x="{x:.1}" y="{}" class="tl" text-anchor="middle">{}</text>"##, y0 + 4.0, y0 + 17.0, fmt_tick(t));
        }
        let _ = write!(s, r##"<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" class="axis"/><line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" class="axis"/>"##);
        let _ = write!(s, r##"<text x="{:.1}" y="{}" class="al" text-anchor="middle">{}</text>"##, (x0 + x1) / 2.0, h - 8.0, esc(&self.x_label));
        let _ = write!(s, r##"<text transform="translate(14 {:.1}) rotate(-90)" class="al" text-anchor="middle">{}</text>"##, (y0 + y1) / 2.0, esc(&self.y_label));
        if self.diagonal {
            let _ = write!(s, r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" class="diag"/>"##);
        }
        for series in &self.series {
            let mut d = String::new();
            for (k, &(x, y)) in series.points.iter().enumerate() {
                let (px, py) = (self.sx(x), self.sy(y));
                let _ = match (k, series.step) {
                    (0, _) => write!(d, "M{px:.1},{py:.1}"),
                    (_, true) => write!(d, "H{px:.1}V{py:.1}"),
                    (_, false) => write!(d, "L{px:.1},{py:.1}"),
                };
            }
            let dash = if series.dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(s, r##"<path d="{d}" fill="none" stroke="{}" stroke-width="2"{dash}><title>{}</title></path>"##, series.colour, esc(&series.label));
        }
        for (series, (row, x)) in self.series.iter().zip(self.legend_layout()) {
            let y = TITLE_ROW + LEGEND_ROW * (row as f64 + 0.7);
            let dash = if series.dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{y:.1}" class="lg">{}</text>"##,
                x + 24.0,
                y - 4.0,
                y - 4.0,
                series.colour,
                x + 30.0,
                esc(&series.label)
            );
        }
        if let Some(note) = &self.note {
            let _ = write!(s, r##"<text x="{:.1}" y="16" class="lg" text-anchor="end">{}</text>"##, w - RIGHT, esc(note));
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 10.0, 6), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(1.0, 30.0, 6), vec![5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        assert_eq!(ticks(0.5, 0.5, 5), vec![0.5]);
    }

    #[test]
    fn a_step_curve_goes_across_then_down_and_text_is_escaped() {
        let c = Chart {
            title: "KM <high>".into(),
            x_label: "years".into(),
            y_label: "S(t)".into(),
            x: (0.0, 10.0),
            y: (0.0, 1.0),
            width: 400.0,
            height: 300.0,
            series: vec![Series { label: "a & b".into(), points: vec![(0.0, 1.0), (5.0, 0.5)], colour: PALETTE[0], step: true, dashed: false }],
            note: None,
            diagonal: false,
        };
        let svg = c.render();
        assert!(svg.contains("KM &lt;high&gt;") && svg.contains("a &amp; b"), "{svg}");
        // One legend row: the plot starts at 24 + 17 + 8 = 49 px.
        assert!(svg.contains("M56.0,49.0H222.0V152.5"), "{svg}");
    }
}
