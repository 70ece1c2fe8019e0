//! Live handles over time per process and type, and the findings as marks on
//! the same axis, ready to draw. Series are downsampled (peaks kept).

use serde::Serialize;

use super::{process_selected, program_of};
use crate::analysis::{Analysis, Selection};
use crate::lifecycle::history::Point;
use crate::model::Finding;

/// Points per series in the chart.
const MAX_POINTS: usize = 400;
/// Series drawn; the rest are summed into one `other` series.
const MAX_SERIES: usize = 8;

#[derive(Debug, Serialize)]
pub struct Chart {
    /// `seconds` when every point has a time, else `event number`.
    pub x_unit: &'static str,
    pub x_max: f64,
    pub y_max: u64,
    pub series: Vec<Series>,
    pub marks: Vec<Mark>,
}

#[derive(Debug, Serialize)]
pub struct Series {
    /// `pid 1234 cat: file`
    pub name: String,
    pub peak: u64,
    pub points: Vec<(f64, u64)>,
}

#[derive(Debug, Serialize)]
pub struct Mark {
    pub x: f64,
    pub code: &'static str,
    pub level: &'static str,
    pub fingerprint: String,
}

/// The chart of the selected processes, with `findings` as marks.
pub fn build(a: &Analysis, sel: &Selection, findings: &[&Finding]) -> Chart {
    let histories: Vec<_> = a
        .graphs
        .iter()
        .filter_map(|g| g.history.as_ref().map(|h| (g, h)))
        .collect();
    let timed = histories.iter().all(|(_, h)| {
        h.counts
            .values()
            .all(|c| c.series.iter().all(|p| p.time.is_some()))
    }) && histories.iter().any(|(_, h)| h.first_time.is_some());
    let start = histories.iter().filter_map(|(_, h)| h.first_time).min();
    let x_of = |p: &Point| -> f64 {
        match (timed, p.time, start) {
            (true, Some(t), Some(s)) => (t - s) as f64 / 1e9,
            _ => p.seq as f64,
        }
    };
    let mut series: Vec<Series> = Vec::new();
    for (graph, h) in &histories {
        for ((pid, kind), c) in &h.counts {
            if !process_selected(sel, a, graph, *pid) || c.series.is_empty() {
                continue;
            }
            let program = program_of(a, graph, *pid)
                .map(|p| format!(" {}", p.rsplit('/').next().unwrap_or(&p)))
                .unwrap_or_default();
            series.push(Series {
                name: format!("pid {pid}{program}: {}", kind.as_str()),
                peak: c.peak_live,
                points: downsample(c.series.iter().map(|p| (x_of(p), p.live)).collect()),
            });
        }
    }
    series.sort_by(|a, b| b.peak.cmp(&a.peak).then(a.name.cmp(&b.name)));
    if series.len() > MAX_SERIES {
        let rest = series.split_off(MAX_SERIES - 1);
        series.push(Series {
            name: format!("largest of {} other series", rest.len()),
            peak: rest.iter().map(|s| s.peak).max().unwrap_or(0),
            points: downsample(
                rest.into_iter()
                    .max_by_key(|s| s.peak)
                    .map(|s| s.points)
                    .unwrap_or_default(),
            ),
        });
    }
    let mut marks = Vec::new();
    for f in findings {
        let Some(l) = f.primary() else { continue };
        let p = Point {
            seq: l.event.seq,
            time: l.event.time,
            live: 0,
        };
        marks.push(Mark {
            x: x_of(&p),
            code: f.code,
            level: f.level.as_str(),
            fingerprint: f.fingerprint.clone(),
        });
    }
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(marks.iter().map(|m| m.x))
        .fold(0.0, f64::max);
    let y_max = series.iter().map(|s| s.peak).max().unwrap_or(0);
    Chart {
        x_unit: if timed { "seconds" } else { "event number" },
        x_max,
        y_max,
        series,
        marks,
    }
}

/// At most `MAX_POINTS` points: the highest point of each bucket, and the last point.
fn downsample(points: Vec<(f64, u64)>) -> Vec<(f64, u64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let per = points.len().div_ceil(MAX_POINTS - 1);
    let mut out: Vec<(f64, u64)> = points
        .chunks(per)
        .filter_map(|c| c.iter().copied().max_by_key(|p| p.1))
        .collect();
    if let Some(last) = points.last()
        && out.last() != Some(last)
    {
        out.push(*last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_bounds_points_and_keeps_peak_and_end() {
        let pts: Vec<(f64, u64)> = (0..5000)
            .map(|i| (i as f64, if i == 2500 { 90 } else { 3 }))
            .collect();
        let d = downsample(pts);
        assert!(d.len() <= MAX_POINTS);
        assert!(d.iter().any(|p| p.1 == 90));
        assert_eq!(d.last(), Some(&(4999.0, 3)));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
