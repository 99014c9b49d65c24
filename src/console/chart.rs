//! Bar charts as inline SVG, drawn on the server: no script, nothing to fetch, readable in
//! any browser the console supports. The numbers are always also in a table beside the chart
//! (for screen readers and for those who want the figure).

use std::fmt::Write;

/// One bar of a stacked chart: a label and one value per series.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub values: Vec<u64>,
}

/// The colours of the series, in order (readable on white, distinct for common colour
/// blindness).
const PALETTE: &[&str] = &[
    "#1b7837", "#c51b7d", "#2166ac", "#e08214", "#762a83", "#4d4d4d",
];

/// The colour of series `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A stacked bar chart: one bar per entry, the series stacked bottom up. `title` is the
/// chart's accessible name.
pub fn stacked_bars(title: &str, bars: &[Bar]) -> String {
    const HEIGHT: u64 = 120;
    const BAR: usize = 10;
    const GAP: usize = 2;
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = bars.len().max(1) * (BAR + GAP);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" viewBox="0 0 {width} {HEIGHT}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let x = i * (BAR + GAP);
        let mut top = HEIGHT;
        for (series, value) in bar.values.iter().enumerate() {
            if *value == 0 {
                continue;
            }
            let h = (value * HEIGHT).div_ceil(max).max(1);
            top = top.saturating_sub(h);
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{top}" width="{BAR}" height="{h}" fill="{}"><title>{}: {value}</title></rect>"#,
                colour(series),
                escape(&bar.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_highest_and_labels_escaped() {
        let svg = stacked_bars(
            "lookups <48h>",
            &[
                Bar {
                    label: "10:00".to_owned(),
                    values: vec![30, 10],
                },
                Bar {
                    label: "11:00".to_owned(),
                    values: vec![0, 20],
                },
            ],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<title>lookups &lt;48h&gt;</title>"));
        // 30 of 40 is 90 of 120 pixels; the second series of the first bar stacks on it.
        assert!(svg.contains(r#"y="30" width="10" height="90""#), "{svg}");
        assert!(svg.contains(r#"y="0" width="10" height="30""#), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 3, "no rectangle for a zero");
    }
}
