//! The picture of one run: the calls per step over the open periods, and the window against T.
//!
//! Two panels on one time axis, because the question a reader brings is causal: the lower panel
//! shows the failures in the window climbing past T, the upper one what the breaker then did to
//! the calls (grey bars: turned away; light grey ones would have succeeded, dark grey ones would
//! have failed). The open periods are shaded in both panels and named by reason in a strip of
//! their own above the bars, so that no label ever covers a bar; the legend has a column of its
//! own for the same reason.

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordu64};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::DrawError;
use super::labels::{Area, Placer};
use super::style::{self, faded};
use crate::timeline::{FIRST_STEP, OpenSpan, Step, Timeline};
use breaker::State;

/// The picture's size in pixels.
const SIZE: (u32, u32) = (1000, 600);
/// The height of the title band.
const TITLE_BAND: u32 = 44;
/// Where the legend column begins; the panels are to its left.
const LEGEND_X: u32 = 776;
/// The height of the upper panel, its label strip included.
const UPPER: u32 = 340;
/// The strip above the bars that names the open periods: two rows of labels and a ribbon.
const LABEL_STRIP: u32 = 40;
/// The width kept for the y axes' numbers and names (the same in both panels, so they align).
const Y_AXIS: u32 = 76;
/// The size of the labels of open periods, in pixels.
const LABEL_PX: f64 = 11.0;
/// The height of one row of labels.
const ROW: i32 = 15;
/// The height of the ribbon that marks each span just above the bars.
const RIBBON: i32 = 5;
/// The room kept right of the plots.
const RIGHT_MARGIN: u32 = 14;

type Panel<'a> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordu64>>;

/// Draws `timeline` under `title`; see [`timeline_svg`](super::timeline_svg).
pub(crate) fn draw(timeline: &Timeline, title: &str) -> Result<String, DrawError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(DrawError::plot)?;
        let title = style::clean(title, 200);
        let title = style::fit(&title, 18.0, SIZE.0 as i32 - 32);
        root.draw(&Text::new(title, (16, 12), style::text(18.0, style::INK)))
            .map_err(DrawError::plot)?;

        let (_, body) = root.split_vertically(TITLE_BAND);
        let (plots, legend_area) = body.split_horizontally(LEGEND_X);
        let (upper, lower) = plots.split_vertically(UPPER);
        let axis = TimeAxis::new(timeline);

        let mut top = upper_panel(&upper, timeline, &axis)?;
        let bands = bands(timeline.spans(), &top, &axis);
        let (_, upper_rows) = top.plotting_area().get_pixel_range();
        shade(&root, &bands, upper_rows.clone(), 0.13)?;
        bars(&mut top, timeline, &axis)?;
        if timeline.calls() == 0 {
            let (xs, ys) = top.plotting_area().get_pixel_range();
            let centre = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
            let note =
                style::text(14.0, style::QUIET_INK).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new("no calls", centre, note))
                .map_err(DrawError::plot)?;
        }
        let named = name_bands(&root, &top, &bands)?;

        let mut bottom = lower_panel(&lower, timeline, &axis)?;
        let (_, lower_rows) = bottom.plotting_area().get_pixel_range();
        shade(&root, &bands, lower_rows.clone(), 0.09)?;
        window(&mut bottom, timeline, &axis)?;

        legend(
            &legend_area,
            timeline,
            &named,
            upper_rows.start - TITLE_BAND as i32,
            lower_rows.start - TITLE_BAND as i32,
        )?;
        root.present().map_err(DrawError::plot)?;
    }
    Ok(svg)
}

/// The time axis: its length and the unit it is shown in.
struct TimeAxis {
    /// The seconds one unit of the axis stands for.
    unit: f64,
    /// The unit's name.
    name: &'static str,
    /// The axis' length in its unit.
    length: f64,
    /// The step width in seconds.
    step: f64,
}

impl TimeAxis {
    fn new(timeline: &Timeline) -> TimeAxis {
        let seconds = timeline
            .covered()
            .max(timeline.end())
            .max(10.0 * FIRST_STEP);
        let (unit, name) = if seconds <= 600.0 {
            (1.0, "s")
        } else if seconds <= 36_000.0 {
            (60.0, "min")
        } else {
            (3600.0, "h")
        };
        TimeAxis {
            unit,
            name,
            length: seconds / unit,
            step: timeline.step(),
        }
    }

    /// `seconds` on the axis.
    fn at(&self, seconds: f64) -> f64 {
        (seconds / self.unit).clamp(0.0, self.length)
    }

    /// The step width as the y axis names it: `0.1 s`, `102.4 s`, `27.3 min`, `7.28 h`.
    fn step_name(&self) -> String {
        let step = self.step;
        if step < 1000.0 {
            format!("{} s", style::decimal(step, 1))
        } else if step < 6.0 * 3600.0 {
            format!("{} min", style::decimal(step / 60.0, 1))
        } else {
            format!("{} h", style::count(step / 3600.0))
        }
    }
}

/// The upper panel's chart: calls per step, no numbers on its time axis.
fn upper_panel<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
    timeline: &Timeline,
    axis: &TimeAxis,
) -> Result<Panel<'a>, DrawError> {
    // Headroom over the tallest bar: a tenth, and at least one call so that small counts get
    // a tick above them.
    let most = timeline.steps().iter().map(Step::calls).max().unwrap_or(0);
    let top = most.saturating_add((most / 10).max(1));
    let mut chart = ChartBuilder::on(area)
        .margin_top(LABEL_STRIP)
        .margin_right(RIGHT_MARGIN)
        .margin_left(8)
        .x_label_area_size(4)
        .y_label_area_size(Y_AXIS)
        .build_cartesian_2d(0.0..axis.length, 0u64..top)
        .map_err(DrawError::plot)?;
    let y_desc = format!("calls per {}", axis.step_name());
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(style::QUIET_INK)
        .x_labels(10)
        .x_label_formatter(&|_| String::new())
        .y_labels(6)
        .y_label_formatter(&|v| style::count(*v as f64))
        .label_style(style::text(12.0, style::QUIET_INK))
        .axis_desc_style(style::text(13.0, style::INK))
        .y_desc(y_desc)
        .draw()
        .map_err(DrawError::plot)?;
    Ok(chart)
}

/// The lower panel's chart: the most failures in the window per step, with the time axis.
fn lower_panel<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
    timeline: &Timeline,
    axis: &TimeAxis,
) -> Result<Panel<'a>, DrawError> {
    let most = timeline
        .steps()
        .iter()
        .filter_map(|s| s.failures_in_window)
        .max()
        .unwrap_or(0);
    let above_threshold = timeline.threshold().map_or(0, |t| t.saturating_add(1));
    let top = u64::from(most.max(above_threshold)) + 1;
    let mut chart = ChartBuilder::on(area)
        .margin_top(14)
        .margin_bottom(6)
        .margin_right(RIGHT_MARGIN)
        .margin_left(8)
        .x_label_area_size(46)
        .y_label_area_size(Y_AXIS)
        .build_cartesian_2d(0.0..axis.length, 0u64..top)
        .map_err(DrawError::plot)?;
    let x_desc = format!("time ({}) since the first call", axis.name);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(style::QUIET_INK)
        .x_labels(12)
        .x_label_formatter(&|v| style::count(*v))
        .y_labels(5)
        .y_label_formatter(&|v| style::count(*v as f64))
        .label_style(style::text(12.0, style::QUIET_INK))
        .axis_desc_style(style::text(13.0, style::INK))
        .x_desc(x_desc)
        .y_desc("failures in window")
        .draw()
        .map_err(DrawError::plot)?;
    Ok(chart)
}

/// The class of a state as the picture colours it: open, half-open or forced open.
fn class(state: State) -> State {
    match state {
        State::HalfOpen | State::ForcedOpen => state,
        _ => State::Open,
    }
}

/// The colour of a state's class.
fn shade_of(state: State) -> RGBColor {
    match class(state) {
        State::HalfOpen => style::HALF_OPEN,
        State::ForcedOpen => style::FORCED_OPEN,
        _ => style::OPEN,
    }
}

/// A span as drawn: its pixel columns, at least two wide, and what it shows.
struct Band {
    x0: i32,
    x1: i32,
    state: State,
    reason: breaker::Reason,
    /// Whether it stands for more than one span of the run.
    merged: bool,
}

/// The spans in pixel columns: neighbours of one class less than a pixel apart become one
/// band, and no band overlaps the one before, so that shades never stack.
fn bands(spans: &[OpenSpan], chart: &Panel<'_>, axis: &TimeAxis) -> Vec<Band> {
    let pixel = |seconds: f64| chart.backend_coord(&(axis.at(seconds), 0)).0;
    let mut bands: Vec<Band> = Vec::new();
    for span in spans {
        let x0 = pixel(span.start);
        let x1 = pixel(span.end.unwrap_or(f64::MAX)).max(x0 + 2);
        let band = Band {
            x0,
            x1,
            state: class(span.state),
            reason: span.reason,
            merged: span.spans > 1,
        };
        let Some(last) = bands.last_mut() else {
            bands.push(band);
            continue;
        };
        if last.state == band.state && band.x0 <= last.x1 + 1 {
            last.x1 = last.x1.max(band.x1);
            last.merged = true;
        } else if band.x1 > last.x1 {
            let x0 = band.x0.max(last.x1);
            bands.push(Band { x0, ..band });
        }
    }
    bands
}

/// The bands shaded over the pixel rows `rows`.
fn shade(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    bands: &[Band],
    rows: std::ops::Range<i32>,
    alpha: f64,
) -> Result<(), DrawError> {
    for band in bands {
        let color = faded(shade_of(band.state), alpha);
        root.draw(&Rectangle::new(
            [(band.x0, rows.start), (band.x1, rows.end)],
            color.filled(),
        ))
        .map_err(DrawError::plot)?;
    }
    Ok(())
}

/// The calls of each step as a stacked bar.
fn bars(chart: &mut Panel<'_>, timeline: &Timeline, axis: &TimeAxis) -> Result<(), DrawError> {
    let (xs, _) = chart.plotting_area().get_pixel_range();
    let width = axis.step / axis.unit;
    let pixels = width * f64::from(xs.end - xs.start) / axis.length;
    let inset = if pixels >= 5.0 { width * 0.12 } else { 0.0 };
    let outline = pixels >= 6.0;
    let mut shapes = Vec::new();
    for (i, step) in timeline.steps().iter().enumerate() {
        let x0 = (i as f64 * width + inset).min(axis.length);
        let x1 = ((i + 1) as f64 * width - inset).min(axis.length);
        let mut base = 0u64;
        let layers = [
            (step.admitted_successes, style::SUCCESS, false),
            (step.admitted_failures, style::FAILURE, false),
            (step.rejected_successes, style::REJECTED_SUCCESS, true),
            (step.rejected_failures, style::REJECTED_FAILURE, true),
            (
                step.admitted_ignored.saturating_add(step.rejected_ignored),
                style::IGNORED,
                false,
            ),
        ];
        for (count, color, rejected) in layers {
            if count == 0 {
                continue;
            }
            let top = base.saturating_add(count);
            shapes.push(Rectangle::new([(x0, base), (x1, top)], color.filled()));
            if rejected && outline {
                shapes.push(Rectangle::new(
                    [(x0, base), (x1, top)],
                    style::REJECTED_EDGE.stroke_width(1),
                ));
            }
            base = top;
        }
    }
    chart.draw_series(shapes).map_err(DrawError::plot)?;
    Ok(())
}

/// What the strip above the bars could say.
struct Named {
    /// The bands named by reason.
    named: usize,
    /// Whether some band went unnamed or stands for several spans.
    partial: bool,
}

/// Each band marked by a ribbon above the bars, and each band but a half-open one named by
/// its reason where the name fits.
fn name_bands(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Panel<'_>,
    bands: &[Band],
) -> Result<Named, DrawError> {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let ribbon_top = ys.start - RIBBON - 1;
    for band in bands {
        root.draw(&Rectangle::new(
            [(band.x0, ribbon_top), (band.x1, ribbon_top + RIBBON)],
            shade_of(band.state).filled(),
        ))
        .map_err(DrawError::plot)?;
    }

    let strip = Area::at(
        xs.start,
        ribbon_top - 2 * ROW - 2,
        xs.end - xs.start + RIGHT_MARGIN as i32,
        2 * ROW + 2,
    );
    let mut placer = Placer::new(strip, 8);
    let mut named = Named {
        named: 0,
        partial: false,
    };
    for band in bands.iter().filter(|band| band.state != State::HalfOpen) {
        named.partial |= band.merged;
        let name = band.reason.as_str();
        let width = style::text_width(name, LABEL_PX);
        // From the band's start, or ending at the right edge for a band near it.
        let shifted = band.x0.min(strip.x1 - width);
        let rows = [ribbon_top - ROW - 1, ribbon_top - 2 * ROW - 1];
        let candidates = [band.x0, shifted]
            .into_iter()
            .flat_map(|x| rows.map(|y| Area::at(x, y, width, ROW)));
        let Some(place) = placer.place(candidates) else {
            named.partial = true;
            continue;
        };
        let ink = match band.state {
            State::ForcedOpen => style::FORCED_OPEN,
            _ => RGBColor(170, 30, 30),
        };
        root.draw(&Text::new(
            name,
            (place.x0, place.y0 + 1),
            style::text(LABEL_PX, ink),
        ))
        .map_err(DrawError::plot)?;
        named.named += 1;
    }
    Ok(named)
}

/// The most failures in the window per step, and T as a dashed line.
fn window(chart: &mut Panel<'_>, timeline: &Timeline, axis: &TimeAxis) -> Result<(), DrawError> {
    let width = axis.step / axis.unit;
    let bars = timeline.steps().iter().enumerate().filter_map(|(i, step)| {
        let count = u64::from(step.failures_in_window?);
        let x0 = (i as f64 * width).min(axis.length);
        let x1 = ((i + 1) as f64 * width).min(axis.length);
        Some(Rectangle::new(
            [(x0, 0), (x1, count)],
            faded(style::FAILURE, 0.75).filled(),
        ))
    });
    chart.draw_series(bars).map_err(DrawError::plot)?;
    if let Some(threshold) = timeline.threshold() {
        let level = u64::from(threshold);
        let line = DashedLineSeries::new(
            [(0.0, level), (axis.length, level)],
            8,
            5,
            style::INK.stroke_width(2),
        );
        chart.draw_series(line).map_err(DrawError::plot)?;
    }
    Ok(())
}

/// The legend column: the upper panel's entries level with it, the lower one's with that.
fn legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    timeline: &Timeline,
    named: &Named,
    upper_top: i32,
    lower_top: i32,
) -> Result<(), DrawError> {
    let mut upper: Vec<(Swatch, String)> = vec![
        (Swatch::Fill(style::SUCCESS), "admitted, success".into()),
        (Swatch::Fill(style::FAILURE), "admitted, failure".into()),
        (
            Swatch::Fill(style::REJECTED_SUCCESS),
            "rejected, would succeed".into(),
        ),
        (
            Swatch::Fill(style::REJECTED_FAILURE),
            "rejected, would fail".into(),
        ),
        (
            Swatch::Fill(style::IGNORED),
            "ignored (4xx, cancelled)".into(),
        ),
        (Swatch::Blank, String::new()),
    ];
    let trips = timeline.trips();
    let trips = format!("open: {trips} trip{}", if trips == 1 { "" } else { "s" });
    upper.push((Swatch::Span(style::OPEN), trips));
    let has = |state| timeline.spans().iter().any(|s| s.state == state);
    if has(State::HalfOpen) {
        upper.push((Swatch::Span(style::HALF_OPEN), "half-open".into()));
    }
    if has(State::ForcedOpen) {
        upper.push((Swatch::Span(style::FORCED_OPEN), "forced open".into()));
    }
    upper.push((Swatch::Note, "named by why it opened".into()));
    if named.partial {
        let note = format!("{} named; rest too close", named.named);
        upper.push((Swatch::Note, note));
    }

    let mut lower = vec![(Swatch::Fill(style::FAILURE), "failures in window".into())];
    lower.push((Swatch::Note, "(the most in each step)".into()));
    match timeline.threshold() {
        Some(t) => lower.push((Swatch::Dash, format!("threshold T = {t}"))),
        None => lower.push((Swatch::Note, "count rule off: no T".into())),
    }
    entries(area, &upper, upper_top)?;
    entries(area, &lower, lower_top)
}

/// How a legend entry is marked.
#[derive(Clone, Copy)]
enum Swatch {
    Fill(RGBColor),
    /// A shaded span under its ribbon.
    Span(RGBColor),
    Dash,
    Note,
    Blank,
}

/// Legend entries drawn one per row from `top`.
fn entries(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[(Swatch, String)],
    top: i32,
) -> Result<(), DrawError> {
    const PX: f64 = 12.0;
    let (width, _) = area.dim_in_pixel();
    let text_x = 30;
    let room = width as i32 - text_x - 6;
    let mut y = top;
    for (swatch, label) in entries {
        let swatch_box = [(8, y + 2), (24, y + 13)];
        match swatch {
            Swatch::Fill(color) => area.draw(&Rectangle::new(swatch_box, color.filled())),
            Swatch::Span(color) => area
                .draw(&Rectangle::new(swatch_box, faded(*color, 0.2).filled()))
                .and_then(|()| {
                    area.draw(&Rectangle::new([(8, y + 2), (24, y + 5)], color.filled()))
                }),
            Swatch::Dash => area
                .draw(&PathElement::new(
                    vec![(8, y + 8), (14, y + 8)],
                    style::INK.stroke_width(2),
                ))
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(18, y + 8), (24, y + 8)],
                        style::INK.stroke_width(2),
                    ))
                }),
            Swatch::Note | Swatch::Blank => Ok(()),
        }
        .map_err(DrawError::plot)?;
        let (x, ink) = match swatch {
            Swatch::Note => (text_x, style::QUIET_INK),
            _ => (text_x, style::INK),
        };
        let label = style::fit(label, PX, room);
        area.draw(&Text::new(label, (x, y + 1), style::text(PX, ink)))
            .map_err(DrawError::plot)?;
        y += if matches!(swatch, Swatch::Blank) {
            8
        } else {
            19
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use breaker::{CircuitBreaker, Clock, ManualClock, Outcome, Probing, StateChange};

    use crate::draw::checks::{assert_sound, texts};
    use crate::draw::timeline_svg;
    use crate::timeline::{Decision, MAX_STEPS};

    /// Runs `calls` (start in seconds, outcome, each ending where it starts) through a real
    /// breaker on a manual clock, as the replay does, and collects their timeline.
    fn replay(
        calls: impl IntoIterator<Item = (f64, Outcome)>,
        builder: breaker::Builder,
    ) -> Timeline {
        let clock = ManualClock::new();
        let seen: Arc<Mutex<Vec<StateChange>>> = Arc::default();
        let sink = seen.clone();
        let cb = builder
            .clock(clock.clone())
            .on_state_change(move |change| sink.lock().expect("no poisoned lock").push(change))
            .build()
            .expect("a valid breaker");
        let mut timeline = Timeline::new(cb.error_threshold());
        let flush = |timeline: &mut Timeline| {
            for change in seen.lock().expect("no poisoned lock").drain(..) {
                timeline.change(&change, change.at.as_secs_f64());
            }
        };
        let mut last = 0.0;
        for (at, outcome) in calls {
            let now = clock.now().as_secs_f64();
            clock.advance(Duration::from_secs_f64((at - now).max(0.0)));
            match cb.try_acquire() {
                Ok(permit) => {
                    permit.record(outcome);
                    timeline.call(at, Decision::Admitted, outcome);
                }
                Err(_) => timeline.call(at, Decision::Rejected, outcome),
            }
            flush(&mut timeline);
            timeline.failures_in_window(at, cb.errors_in_window());
            last = at;
        }
        let _ = cb.state();
        flush(&mut timeline);
        timeline.finish(last);
        timeline
    }

    fn count_rule(window: f64, threshold: u32) -> breaker::Builder {
        CircuitBreaker::builder()
            .window(Duration::from_secs_f64(window))
            .error_threshold(threshold)
    }

    /// A deterministic stream of numbers in [0, 1).
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed.max(1);
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The original demo's sixteen requests, W = 5 s and T = 3.
    fn demo() -> Timeline {
        use Outcome::{Failure as F, Success as S};
        let before = [S, S, F, F, F, F, F, F, S];
        let after = [F, S, S, F, F, F, F];
        let mut calls = Vec::new();
        for (i, outcome) in before.into_iter().enumerate() {
            calls.push((i as f64 * 0.1, outcome));
        }
        for (i, outcome) in after.into_iter().enumerate() {
            calls.push((6.9 + i as f64 * 0.1, outcome));
        }
        replay(calls, count_rule(5.0, 3))
    }

    /// An hour of 100,000 calls, successes and a few ignored, with two bursts of failures: with
    /// no failure before them in the window, each burst opens the circuit for about W.
    fn long_run() -> Timeline {
        let mut random = noise(7);
        let calls = (0..100_000u32).map(move |i| {
            let at = f64::from(i) * 0.036;
            let burst = (1000.0..1020.0).contains(&at) || (2500.0..2530.0).contains(&at);
            let failure_rate = if burst { 0.9 } else { 0.0 };
            let roll = random();
            let outcome = if roll < failure_rate {
                Outcome::Failure
            } else if roll > 0.97 {
                Outcome::Ignored
            } else {
                Outcome::Success
            };
            (at, outcome)
        });
        replay(calls, count_rule(30.0, 20))
    }

    #[test]
    fn the_demo_run_shows_its_three_changes_and_four_rejected() {
        let timeline = demo();
        assert_eq!(timeline.trips(), 2);
        let rejected: u64 = timeline.steps().iter().map(Step::rejected).sum();
        assert_eq!(rejected, 4);
        assert_eq!(timeline.step(), FIRST_STEP);

        let svg = timeline_svg(&timeline, "demo: W=5s T=3").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        for expected in [
            "demo: W=5s T=3",
            "admitted, success",
            "admitted, failure",
            "rejected, would succeed",
            "rejected, would fail",
            "ignored (4xx, cancelled)",
            "open: 2 trips",
            "failure_count",
            "failures in window",
            "threshold T = 3",
            "calls per 0.1 s",
            "time (s) since the first call",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?} in {texts:?}"
            );
        }
    }

    #[test]
    fn a_long_run_stays_small_and_names_both_open_periods() {
        let timeline = long_run();
        assert_eq!(timeline.trips(), 2);
        assert!(timeline.steps().len() <= MAX_STEPS);

        let svg = timeline_svg(&timeline, "an hour of traffic").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert_eq!(texts.iter().filter(|t| *t == "failure_count").count(), 2);
        assert!(texts.iter().any(|t| t == "time (min) since the first call"));
        assert!(texts.iter().any(|t| t.starts_with("calls per ")));
    }

    #[test]
    fn a_flapping_breaker_leaves_out_the_names_that_do_not_fit_and_says_so() {
        let mut random = noise(11);
        let calls = (0..200_000u32).map(move |i| {
            let outcome = if random() < 0.2 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            (f64::from(i) * 0.05, outcome)
        });
        let timeline = replay(calls, count_rule(5.0, 2));
        assert!(timeline.trips() > 1000);

        let svg = timeline_svg(&timeline, "flapping").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t.ends_with("named; rest too close")));
        assert!(
            texts
                .iter()
                .any(|t| t == &format!("open: {} trips", timeline.trips()))
        );
    }

    #[test]
    fn a_failed_probe_is_named_apart_from_the_trip() {
        let mut calls = Vec::new();
        for i in 0..6 {
            calls.push((f64::from(i) * 0.2, Outcome::Failure));
        }
        calls.push((4.0, Outcome::Failure));
        calls.push((6.5, Outcome::Success));
        calls.push((7.0, Outcome::Success));
        let builder = count_rule(5.0, 2).probing(Probing::new(1).open_time(Duration::from_secs(2)));
        let timeline = replay(calls, builder);
        assert!(timeline.spans().iter().any(|s| s.state == State::HalfOpen));

        let svg = timeline_svg(&timeline, "probing").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        for expected in [
            "half-open",
            "failure_count",
            "probe_failed",
            "open: 2 trips",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?} in {texts:?}"
            );
        }
    }

    #[test]
    fn the_busiest_timeline_stays_under_a_megabyte() {
        let mut timeline = Timeline::new(Some(u32::MAX));
        let kinds = [Decision::Admitted, Decision::Rejected];
        let outcomes = [Outcome::Success, Outcome::Failure, Outcome::Ignored];
        for i in 0..200_000u32 {
            let at = f64::from(i) * 0.37;
            timeline.call(at, kinds[i as usize % 2], outcomes[i as usize % 3]);
            timeline.failures_in_window(at, i);
            let state = [State::Open, State::HalfOpen, State::ForcedOpen][i as usize % 3];
            timeline.enter(state, breaker::Reason::ProbesSucceeded, at);
            timeline.enter(State::Closed, breaker::Reason::Reset, at + 0.1);
        }
        timeline.finish(200_000.0 * 0.37);

        let svg = timeline_svg(&timeline, &"t".repeat(100_000)).expect("drawn");
        assert_sound(&svg);
    }

    #[test]
    fn times_at_the_end_of_the_floats_still_draw_finite_numbers() {
        let mut timeline = Timeline::new(Some(3));
        timeline.call(0.0, Decision::Admitted, Outcome::Failure);
        timeline.enter(State::Open, breaker::Reason::FailureCount, 1.0);
        timeline.call(f64::MAX, Decision::Rejected, Outcome::Success);
        timeline.finish(f64::MAX);
        let svg = timeline_svg(&timeline, "huge").expect("drawn");
        assert_sound(&svg);
        assert!(svg.len() < 100_000);
    }

    #[test]
    fn an_empty_timeline_draws_empty_axes() {
        let mut timeline = Timeline::new(Some(3));
        timeline.finish(0.0);
        let svg = timeline_svg(&timeline, "nothing").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "no calls"));
        assert!(texts.iter().any(|t| t == "open: 0 trips"));
    }

    #[test]
    fn a_run_with_no_open_period_and_no_count_rule_has_no_threshold_line() {
        let calls = (0..50).map(|i| (f64::from(i) * 0.4, Outcome::Success));
        let timeline = replay(calls, CircuitBreaker::builder().consecutive_failures(5));
        assert_eq!(timeline.threshold(), None);

        let svg = timeline_svg(&timeline, "quiet").expect("drawn");
        assert_sound(&svg);
        let texts = texts(&svg);
        assert!(texts.iter().any(|t| t == "count rule off: no T"));
        assert!(!texts.iter().any(|t| t.starts_with("threshold")));
        assert!(texts.iter().any(|t| t == "open: 0 trips"));
    }

    #[test]
    fn a_hostile_title_is_escaped_cleaned_and_cut() {
        let mut timeline = Timeline::new(Some(1));
        timeline.call(0.0, Decision::Admitted, Outcome::Success);
        timeline.finish(0.0);
        let title = format!("<b>&\"'\u{0}{}", "x".repeat(10_000));
        let svg = timeline_svg(&timeline, &title).expect("drawn");
        assert_sound(&svg);
        assert!(
            texts(&svg)
                .iter()
                .any(|t| t.starts_with("<b>&\"' xxx") && t.ends_with('…'))
        );
    }
}
