//! The picture of a sweep: each setting as a point of what it let through against what it cost.
//!
//! A scatter, because the choice of W and T is a trade-off between two counts with no common
//! unit: the settings worth a look are those of the Pareto front, so the front is joined, drawn
//! in colour and labelled, and the rest stay small and grey. Sweeps can be large, so markers are
//! drawn once per distinct pixel (up to a cap), and only as many front points are labelled as
//! fit without overlap, chosen spread along the front rather than crowded at one end.

use std::collections::HashSet;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::labels::{Area, Placer};
use super::style;
use super::{DrawError, SweepPoint};

/// The picture's size in pixels.
const SIZE: (u32, u32) = (800, 600);
/// The height of the title band and the key below it.
const HEADER: u32 = 70;
/// The most front points labelled.
const MAX_LABELS: usize = 14;
/// The most markers drawn for the settings off the front, and for those on it.
const MAX_MARKERS: usize = 2500;
/// The longest label drawn, in characters.
const LABEL_CHARS: usize = 28;
/// The size of the labels, in pixels.
const LABEL_PX: f64 = 11.0;
/// The radius of a front marker, in pixels.
const FRONT_RADIUS: i32 = 4;

type Plot<'a> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws `points` under `title`; see [`sweep_svg`](super::sweep_svg).
pub(crate) fn draw(points: &[SweepPoint], title: &str) -> Result<String, DrawError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(DrawError::plot)?;
        let title = style::fit(&style::clean(title, 200), 18.0, SIZE.0 as i32 - 32);
        root.draw(&Text::new(title, (16, 12), style::text(18.0, style::INK)))
            .map_err(DrawError::plot)?;
        let (_, body) = root.split_vertically(HEADER);
        let mut chart = plot(&body, points)?;

        let mut front: Vec<&SweepPoint> = points.iter().filter(|p| p.pareto).collect();
        front.sort_by_key(|p| (p.failures_let_through, p.successes_rejected));
        let others: Vec<&SweepPoint> = points.iter().filter(|p| !p.pareto).collect();

        let shown_others = distinct_markers(&chart, &others);
        let marker = style::faded(style::OTHER, 0.75).filled();
        chart
            .draw_series(
                shown_others
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 2, marker)),
            )
            .map_err(DrawError::plot)?;
        let shown_front = distinct_markers(&chart, &front);
        chart
            .draw_series(LineSeries::new(
                shown_front.iter().copied(),
                style::FRONT.stroke_width(2),
            ))
            .map_err(DrawError::plot)?;
        chart
            .draw_series(
                shown_front
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), FRONT_RADIUS, style::FRONT.filled())),
            )
            .map_err(DrawError::plot)?;

        let spots = spots(&front);
        let labelled = label_front(&root, &chart, &spots, &shown_front, &shown_others)?;
        if points.is_empty() {
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            let centre = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
            let note =
                style::text(14.0, style::QUIET_INK).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new("no settings", centre, note))
                .map_err(DrawError::plot)?;
        }
        let others_note = if shown_others.len() < others.len() {
            format!(
                "other settings ({}, {} distinct drawn)",
                others.len(),
                shown_others.len()
            )
        } else {
            format!("other settings ({})", others.len())
        };
        let front_note = if labelled < spots.len() {
            format!("Pareto front ({}; {labelled} named)", front.len())
        } else {
            format!("Pareto front ({})", front.len())
        };
        key(&root, &front_note, &others_note)?;
        root.present().map_err(DrawError::plot)?;
    }
    Ok(svg)
}

/// The chart with its axes, ranging a little past the points on both sides.
fn plot<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
    points: &[SweepPoint],
) -> Result<Plot<'a>, DrawError> {
    let most_x = points
        .iter()
        .map(|p| p.failures_let_through)
        .max()
        .unwrap_or(0) as f64;
    let most_y = points
        .iter()
        .map(|p| p.successes_rejected)
        .max()
        .unwrap_or(0) as f64;
    let (pad_x, pad_y) = (most_x.max(1.0) * 0.05, most_y.max(1.0) * 0.05);
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(24)
        .margin_left(8)
        .margin_bottom(6)
        .x_label_area_size(48)
        .y_label_area_size(76)
        .build_cartesian_2d(
            -pad_x..most_x.max(1.0) + 2.0 * pad_x,
            -pad_y..most_y.max(1.0) + 2.0 * pad_y,
        )
        .map_err(DrawError::plot)?;
    chart
        .configure_mesh()
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(style::QUIET_INK)
        .x_labels(ticks(most_x))
        .y_labels(ticks(most_y))
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .label_style(style::text(12.0, style::QUIET_INK))
        .axis_desc_style(style::text(13.0, style::INK))
        .x_desc("failures let through (admitted calls that failed)")
        .y_desc("successes rejected")
        .draw()
        .map_err(DrawError::plot)?;
    Ok(chart)
}

/// How many ticks to ask for on an axis up to `most`: one per count for small counts, so that
/// no tick falls between two whole numbers.
fn ticks(most: f64) -> usize {
    if most < 8.0 { most as usize + 2 } else { 8 }
}

/// A tick's number, shown only where the tick is a count (not negative, whole).
fn whole(value: &f64) -> String {
    let value = *value;
    if value < -1e-9 || (value - value.round()).abs() > 1e-6 * value.abs().max(1.0) {
        String::new()
    } else {
        style::count(value.round())
    }
}

/// The points' positions with one per pixel, thinned evenly to at most [`MAX_MARKERS`], in the
/// order given.
fn distinct_markers(chart: &Plot<'_>, points: &[&SweepPoint]) -> Vec<(f64, f64)> {
    let mut seen = HashSet::new();
    let distinct: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.failures_let_through as f64, p.successes_rejected as f64))
        .filter(|position| seen.insert(chart.backend_coord(position)))
        .collect();
    let every = distinct.len().div_ceil(MAX_MARKERS).max(1);
    distinct.into_iter().step_by(every).collect()
}

/// A place on the front, labelled by its first setting and how many more share it (`(+2)`).
struct Spot {
    position: (f64, f64),
    label: String,
}

/// The distinct positions of the front (sorted along it), each with its label.
fn spots(front: &[&SweepPoint]) -> Vec<Spot> {
    let mut spots: Vec<(Spot, usize)> = Vec::new();
    for point in front {
        let position = (
            point.failures_let_through as f64,
            point.successes_rejected as f64,
        );
        match spots.last_mut() {
            Some((spot, more)) if spot.position == position => *more += 1,
            _ => spots.push((
                Spot {
                    position,
                    label: style::clean(&point.label, LABEL_CHARS),
                },
                0,
            )),
        }
    }
    spots
        .into_iter()
        .map(|(mut spot, more)| {
            if more > 0 {
                spot.label.push_str(&format!(" (+{more})"));
            }
            spot
        })
        .collect()
}

/// The indices `0..n` in an order that spreads them out: the ends first, then the middle, then
/// the middles of the halves, and so on.
fn spread(n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut order = vec![0];
    if n > 1 {
        order.push(n - 1);
    }
    let mut ranges = std::collections::VecDeque::from([(0, n - 1)]);
    while let Some((low, high)) = ranges.pop_front() {
        if high - low < 2 {
            continue;
        }
        let middle = low + (high - low) / 2;
        order.push(middle);
        ranges.push_back((low, middle));
        ranges.push_back((middle, high));
    }
    order
}

/// Labels as many front spots as fit, spread along the front, up to [`MAX_LABELS`]; returns how
/// many it labelled. A label stays clear of the markers, the front's line and other labels;
/// one that finds no room next to its point may stand further off, joined to it by a leader.
fn label_front(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Plot<'_>,
    spots: &[Spot],
    front: &[(f64, f64)],
    others: &[(f64, f64)],
) -> Result<usize, DrawError> {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let bounds = Area::at(xs.start, ys.start, xs.end - xs.start, ys.end - ys.start);
    let mut placer = Placer::new(bounds, 3);
    for other in others {
        let (x, y) = chart.backend_coord(other);
        placer.block(Area::at(x - 2, y - 2, 4, 4));
    }
    let line: Vec<(i32, i32)> = front.iter().map(|p| chart.backend_coord(p)).collect();
    for &(x, y) in &line {
        let r = FRONT_RADIUS + 1;
        placer.block(Area::at(x - r, y - r, 2 * r, 2 * r));
    }
    for pair in line.windows(2) {
        block_segment(&mut placer, pair[0], pair[1]);
    }

    let ink = RGBColor(20, 70, 120);
    let mut labelled = 0;
    for index in spread(spots.len()) {
        if labelled == MAX_LABELS {
            break;
        }
        let spot = &spots[index];
        let point = chart.backend_coord(&spot.position);
        let size = (style::text_width(&spot.label, LABEL_PX), 14);
        let candidates = candidates(point, size);
        let Some(place) = placer.place(candidates.iter().map(|c| c.0)) else {
            continue;
        };
        if let Some(&(_, Some(anchor))) = candidates.iter().find(|c| c.0 == place) {
            root.draw(&PathElement::new(
                vec![point, anchor],
                style::faded(ink, 0.6),
            ))
            .map_err(DrawError::plot)?;
            block_segment(&mut placer, point, anchor);
        }
        root.draw(&Text::new(
            spot.label.as_str(),
            (place.x0, place.y0 + 1),
            style::text(LABEL_PX, ink),
        ))
        .map_err(DrawError::plot)?;
        labelled += 1;
    }
    Ok(labelled)
}

/// Where a label of `(w, h)` pixels may go for the point `(x, y)`, best first, each with the
/// end of the leader it needs (none next to the point). Below and left come first: no setting
/// lies below and left of the front, so that side is free.
fn candidates((x, y): (i32, i32), (w, h): (i32, i32)) -> Vec<(Area, Option<(i32, i32)>)> {
    let mut all = vec![
        (Area::at(x - 5 - w, y + 5, w, h), None),
        (Area::at(x + 8, y - h / 2, w, h), None),
        (Area::at(x - 8 - w, y - h / 2, w, h), None),
        (Area::at(x + 5, y - h - 5, w, h), None),
        (Area::at(x + 5, y + 5, w, h), None),
        (Area::at(x - 5 - w, y - h - 5, w, h), None),
        (Area::at(x - w / 2, y + 8, w, h), None),
        (Area::at(x - w / 2, y - h - 8, w, h), None),
    ];
    for d in [26, 48] {
        let g = d * 7 / 10;
        all.extend([
            (Area::at(x - g - w, y + g, w, h), Some((x - g, y + g))),
            (Area::at(x - w / 2, y + d, w, h), Some((x, y + d))),
            (Area::at(x - d - w, y - h / 2, w, h), Some((x - d, y))),
            (Area::at(x + g, y - g - h, w, h), Some((x + g, y - g))),
            (Area::at(x + d, y - h / 2, w, h), Some((x + d, y))),
            (Area::at(x - w / 2, y - d - h, w, h), Some((x, y - d))),
        ]);
    }
    all
}

/// Marks the pixels along a segment as taken, in small boxes every few pixels.
fn block_segment(placer: &mut Placer, (x0, y0): (i32, i32), (x1, y1): (i32, i32)) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()) / 3 + 1;
    for k in 0..=steps {
        let x = x0 + (x1 - x0) * k / steps;
        let y = y0 + (y1 - y0) * k / steps;
        placer.block(Area::at(x - 1, y - 1, 3, 3));
    }
}

/// The key under the title: what the blue and the grey points are.
fn key(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    front: &str,
    others: &str,
) -> Result<(), DrawError> {
    const PX: f64 = 12.0;
    let y = 48;
    let mut x = 24;
    let ink = style::text(PX, style::INK);
    root.draw(&Circle::new(
        (x, y + 7),
        FRONT_RADIUS,
        style::FRONT.filled(),
    ))
    .map_err(DrawError::plot)?;
    root.draw(&Text::new(front, (x + 10, y), ink.clone()))
        .map_err(DrawError::plot)?;
    x += 10 + style::text_width(front, PX) + 24;
    root.draw(&Circle::new(
        (x, y + 7),
        2,
        style::faded(style::OTHER, 0.75).filled(),
    ))
    .map_err(DrawError::plot)?;
    root.draw(&Text::new(others, (x + 10, y), ink))
        .map_err(DrawError::plot)?;
    x += 10 + style::text_width(others, PX) + 24;
    let hint = "lower left is better";
    if x + style::text_width(hint, PX) < SIZE.0 as i32 - 16 {
        root.draw(&Text::new(hint, (x, y), style::text(PX, style::QUIET_INK)))
            .map_err(DrawError::plot)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::draw::checks::{assert_sound, texts};
    use crate::draw::sweep_svg;

    fn point(label: String, failures: u64, rejected: u64) -> SweepPoint {
        SweepPoint {
            label,
            failures_let_through: failures,
            successes_rejected: rejected,
            pareto: false,
        }
    }

    /// Marks the points no other point beats on one axis without losing on the other.
    fn mark_front(points: &mut [SweepPoint]) {
        let all: Vec<(u64, u64)> = points
            .iter()
            .map(|p| (p.failures_let_through, p.successes_rejected))
            .collect();
        for p in points.iter_mut() {
            let (f, r) = (p.failures_let_through, p.successes_rejected);
            p.pareto = !all
                .iter()
                .any(|&(of, or)| (of < f && or <= r) || (or < r && of <= f));
        }
    }

    /// Thirty settings, W in 1 s to 120 s and T in 1 to 50: a small window or threshold
    /// rejects more successes and lets fewer failures through.
    fn thirty() -> Vec<SweepPoint> {
        let mut points = Vec::new();
        for w in [1u64, 5, 30, 60, 120] {
            for t in [1u64, 3, 5, 10, 20, 50] {
                let failures = 40 + 900 * t / (t + 4) + 300 / w;
                let rejected = 25 * w / (t + 1) + 600 / (t + 2) + (w * t) % 17;
                points.push(point(format!("W={w}s T={t}"), failures, rejected));
            }
        }
        mark_front(&mut points);
        points
    }

    #[test]
    fn thirty_settings_show_their_front_joined_and_named() {
        let points = thirty();
        let front: Vec<&SweepPoint> = points.iter().filter(|p| p.pareto).collect();
        assert!(front.len() >= 3);

        let svg = sweep_svg(&points, "sweep of access.log").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        for expected in [
            "sweep of access.log",
            "failures let through (admitted calls that failed)",
            "successes rejected",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?} in {texts:?}"
            );
        }
        assert!(texts.iter().any(|t| t.starts_with("Pareto front (")));
        let named = front
            .iter()
            .filter(|p| texts.iter().any(|t| t.starts_with(&p.label)))
            .count();
        assert!(named >= 2, "{named} front points named");
        let off_front = points
            .iter()
            .find(|p| !p.pareto)
            .expect("some off the front");
        assert!(!texts.iter().any(|t| t == &off_front.label));
    }

    #[test]
    fn two_thousand_settings_stay_under_the_size_bound() {
        let mut points = Vec::new();
        for i in 0..2000u64 {
            let failures = (i * 7919) % 100_000;
            let rejected = 100_000 - failures + (i * 104_729) % 5_000;
            points.push(point(format!("W={}ms T={}", i % 97, i), failures, rejected));
        }
        mark_front(&mut points);
        let svg = sweep_svg(&points, "big sweep").expect("drawn");
        assert_sound(&svg);
    }

    #[test]
    fn a_long_front_is_named_in_part_and_says_so() {
        let mut points: Vec<SweepPoint> = (0..500u64)
            .map(|i| point(format!("setting number {i}"), i, 499 - i))
            .collect();
        mark_front(&mut points);
        assert!(points.iter().all(|p| p.pareto));

        let svg = sweep_svg(&points, "a straight front").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        let named = texts
            .iter()
            .filter(|t| t.starts_with("setting number"))
            .count();
        assert!((2..=MAX_LABELS).contains(&named), "{named} named");
        assert!(
            texts
                .iter()
                .any(|t| t == &format!("Pareto front (500; {named} named)"))
        );
        assert!(texts.iter().any(|t| t == "setting number 0"));
        assert!(texts.iter().any(|t| t == "setting number 499"));
    }

    #[test]
    fn settings_at_one_place_share_a_label() {
        let mut points = vec![
            point("W=1s T=1".into(), 0, 9),
            point("W=5s T=1".into(), 0, 9),
            point("W=5s T=3".into(), 4, 0),
        ];
        mark_front(&mut points);
        let svg = sweep_svg(&points, "ties").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "W=1s T=1 (+1)"), "{texts:?}");
    }

    #[test]
    fn an_empty_sweep_draws_empty_axes() {
        let svg = sweep_svg(&[], "nothing").expect("drawn");
        assert_sound(&svg);
        assert!(texts(&svg).iter().any(|t| t == "no settings"));
    }

    #[test]
    fn hostile_labels_and_titles_are_escaped_and_cut() {
        let mut points = vec![
            point(format!("<a>&\u{7}{}", "y".repeat(5000)), 1, 2),
            point("\"quoted\" 'label'".into(), 2, 1),
        ];
        mark_front(&mut points);
        let svg = sweep_svg(&points, "</svg><script>").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "</svg><script>"));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("<a>& yyy") && t.chars().count() == LABEL_CHARS)
        );
        assert!(texts.iter().any(|t| t == "\"quoted\" 'label'"));
    }

    #[test]
    fn points_spread_ends_first_then_middles() {
        assert_eq!(spread(0), Vec::<usize>::new());
        assert_eq!(spread(1), vec![0]);
        assert_eq!(spread(5), vec![0, 4, 2, 1, 3]);
        let mut all = spread(100);
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }
}
