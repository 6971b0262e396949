//! A hand-written SVG line chart of latency percentiles against offered load.

use std::fmt::Write;

use crate::scenarios::LatencyReport;

/// p50, p90 and p99 of each run against its offered rate (x evenly spaced, in the order given;
/// y linear from 0); a run with unacknowledged sends is marked "N of M acked" under its rate.
/// `title` heads the chart.
pub fn latency_chart(title: &str, runs: &[LatencyReport]) -> String {
    let (width, height) = (720.0_f64, 420.0_f64);
    let (left, right, top, bottom) = (70.0, 150.0, 40.0, 60.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let y_max = nice_ceiling(runs.iter().map(|r| r.delivery.p99_ms).fold(0.0, f64::max).max(0.001));
    let x = |i: usize| {
        if runs.len() <= 1 { left + plot_w / 2.0 } else { left + plot_w * i as f64 / (runs.len() - 1) as f64 }
    };
    let y = |ms: f64| top + plot_h * (1.0 - ms / y_max);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    // Axes and grid.
    for step in 0..=5 {
        let ms = y_max * step as f64 / 5.0;
        let yy = y(ms);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#dddddd"/>"##,
            left + plot_w
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            yy + 4.0,
            trim(ms)
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="#333333"/>"##,
        top + plot_h
    );
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333333"/>"##,
        top + plot_h,
        left + plot_w
    );
    for (i, run) in runs.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(i),
            top + plot_h + 18.0,
            trim(run.offered_per_s)
        );
        // A point that covers only some of the messages says so: the rest never came back.
        if run.acked < run.sent {
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#d62728" font-size="10">{} of {} acked</text>"##,
                x(i),
                top + plot_h + 31.0,
                run.acked,
                run.sent
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">offered load (messages/s)</text>"#,
        left + plot_w / 2.0,
        height - 14.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">send → received (ms)</text>"#,
        top + plot_h / 2.0
    );
    // Series.
    type Series = (&'static str, &'static str, fn(&LatencyReport) -> f64);
    let series: [Series; 3] = [
        ("p50", "#1f77b4", |r| r.delivery.p50_ms),
        ("p90", "#ff7f0e", |r| r.delivery.p90_ms),
        ("p99", "#d62728", |r| r.delivery.p99_ms),
    ];
    for (n, (name, colour, value)) in series.iter().enumerate() {
        let points: Vec<String> =
            runs.iter().enumerate().map(|(i, r)| format!("{:.1},{:.1}", x(i), y(value(r)))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for (i, r) in runs.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{name} at {}/s: {:.3} ms</title></circle>"#,
                x(i),
                y(value(r)),
                trim(r.offered_per_s),
                value(r)
            );
        }
        let ly = top + 10.0 + 20.0 * n as f64;
        let lx = left + plot_w + 20.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/>"#,
            lx + 24.0
        );
        let _ = writeln!(svg, r#"<text x="{}" y="{}">{name}</text>"#, lx + 30.0, ly + 4.0);
    }
    svg.push_str("</svg>\n");
    svg
}

/// 1, 2 or 5 times a power of ten, at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|c| *c >= value).unwrap_or(10.0 * magnitude)
}

fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales() {
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(trim(1000.0), "1000");
        assert_eq!(trim(0.25), "0.25");
    }

    #[test]
    fn marks_runs_that_were_not_all_acknowledged() {
        let run = |offered_per_s: f64, acked: usize| LatencyReport {
            offered_per_s,
            via: crate::scenarios::Via::Gateway,
            sent: 1000,
            acked,
            received: acked,
            lost: 0,
            unanswered: 1000 - acked,
            errors: Default::default(),
            delivery: Default::default(),
            ack: Default::default(),
        };
        let svg = latency_chart("t", &[run(50.0, 1000), run(1000.0, 123)]);
        assert!(svg.contains("123 of 1000 acked"));
        assert!(!svg.contains("1000 of 1000"));
        assert_eq!(svg.matches("<polyline").count(), 3);
    }
}
