//! Bar charts as inline SVG, so the statistics page needs no script and no outside server.
//! Colours come from CSS classes (`bar`, `p1`…`p5`) set in the page frame; every bar also
//! carries its value as text and a `<title>`, so the chart reads without colour or hover.

use super::html::esc;
use crate::tickets::Priority;
use std::fmt::Write;

/// One bar: its label, its length, the text shown beside it, and its CSS class.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub text: String,
    pub class: &'static str,
}

impl Bar {
    /// A bar showing its count.
    pub fn count(label: impl Into<String>, value: u64) -> Bar {
        Bar {
            label: label.into(),
            value,
            text: value.to_string(),
            class: "bar",
        }
    }
}

/// The CSS class that colours a priority's bar (`none` for calls without one).
pub fn priority_class(priority: Option<Priority>) -> &'static str {
    match priority.map(|p| p.level()) {
        Some(1) => "p1",
        Some(2) => "p2",
        Some(3) => "p3",
        Some(4) => "p4",
        Some(5) => "p5",
        _ => "none",
    }
}

const ROW: u32 = 24;
const LABEL_WIDTH: u32 = 170;
const PLOT_WIDTH: u32 = 380;
const WIDTH: u32 = LABEL_WIDTH + PLOT_WIDTH + 120;

/// Length in pixels of `value` on a scale whose longest bar is `max`: a non-zero value is at
/// least a sliver, so it is never mistaken for zero.
fn scale(value: u64, max: u64, length: u32) -> u32 {
    if value == 0 || max == 0 {
        return 0;
    }
    ((value as f64 / max as f64) * length as f64)
        .round()
        .max(2.0) as u32
}

/// Horizontal bars, one row each: label, bar, value.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let height = ROW * bars.len() as u32 + 4;
    let mut svg = format!(
        r#"<svg class="chart" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(title)
    );
    for (n, bar) in bars.iter().enumerate() {
        let y = ROW * n as u32 + 2;
        let length = scale(bar.value, max, PLOT_WIDTH);
        let _ = write!(
            svg,
            r#"<g><title>{label}: {text}</title><text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="{class}" x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{h}"/><text x="{vx}" y="{ty}">{text}</text></g>"#,
            label = esc(&bar.label),
            text = esc(&bar.text),
            class = bar.class,
            lx = LABEL_WIDTH - 8,
            ty = y + 15,
            h = ROW - 6,
            vx = LABEL_WIDTH + length + 6,
        );
    }
    svg.push_str("</svg>");
    svg
}

const COLUMN_PLOT_HEIGHT: u32 = 160;
const COLUMN_PLOT_WIDTH: u32 = 700;

/// Vertical columns over time (one per day), labelled below; with many columns only every
/// n-th is labelled so the labels do not overlap, but each keeps its `<title>`.
pub fn column_chart(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let n = bars.len().max(1) as u32;
    let slot = (COLUMN_PLOT_WIDTH / n).max(1);
    let width = slot * n + 20;
    let label_every = (bars.len() as u32).div_ceil(14).max(1) as usize;
    let top = 18;
    let height = top + COLUMN_PLOT_HEIGHT + 22;
    let mut svg = format!(
        r##"<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{}</title><line x1="10" y1="{base}" x2="{x2}" y2="{base}" stroke="#999"/>"##,
        esc(title),
        base = top + COLUMN_PLOT_HEIGHT,
        x2 = width - 10,
    );
    for (i, bar) in bars.iter().enumerate() {
        let h = scale(bar.value, max, COLUMN_PLOT_HEIGHT);
        let x = 10 + slot * i as u32;
        let centre = x + slot / 2;
        let _ = write!(
            svg,
            r#"<g><title>{label}: {text}</title><rect class="{class}" x="{bx}" y="{y}" width="{bw}" height="{h}"/>"#,
            label = esc(&bar.label),
            text = esc(&bar.text),
            class = bar.class,
            bx = x + 1,
            y = top + COLUMN_PLOT_HEIGHT - h,
            bw = slot.saturating_sub(2).max(1),
        );
        if bars.len() <= 31 && bar.value > 0 {
            let _ = write!(
                svg,
                r#"<text x="{centre}" y="{}" text-anchor="middle">{}</text>"#,
                top + COLUMN_PLOT_HEIGHT - h - 4,
                esc(&bar.text)
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{centre}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
                top + COLUMN_PLOT_HEIGHT + 16,
                esc(&bar.label)
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_longest_and_labelled() {
        let svg = bar_chart(
            "Calls <per> category",
            &[
                Bar::count("hardware", 4),
                Bar::count("a<b", 1),
                Bar::count("none", 0),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Calls &lt;per&gt; category</title>"));
        assert!(svg.contains(&format!(r#"width="{PLOT_WIDTH}""#)));
        assert!(svg.contains(&format!(r#"width="{}""#, PLOT_WIDTH / 4)));
        assert!(svg.contains(r#"width="0""#));
        assert!(svg.contains("a&lt;b: 1"));
    }

    #[test]
    fn small_values_stay_visible_and_zero_is_empty() {
        assert_eq!(scale(1, 1000, 380), 2);
        assert_eq!(scale(0, 10, 380), 0);
        assert_eq!(scale(5, 0, 380), 0);
    }

    #[test]
    fn long_time_series_label_only_some_days() {
        let bars: Vec<Bar> = (0..60).map(|d| Bar::count(format!("d{d}"), 1)).collect();
        let svg = column_chart("Calls per day", &bars);
        assert_eq!(svg.matches(r#"class="axis""#).count(), 12);
        assert_eq!(svg.matches("<rect").count(), 60);
    }
}
