//! Many settings over one read of a trace, in parallel, and the ones worth looking at.
//!
//! A sweep puts the events of each chunk of records in order once (the order does not depend
//! on the setting), then hands them to one engine per setting (each with its own breaker and
//! manual clock, so they share nothing) at once on rayon's threads: the trace is read once,
//! whatever the number of settings, and memory is one chunk plus the engines, whatever its
//! length. The two measures that matter when choosing W and T are the
//! failures a setting let through and the successes it rejected; a setting is on the Pareto
//! front when no other does better on one without doing worse on the other.

use std::fmt;
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;

use crate::record::Record;
use crate::replay::{Engine, Event, Schedule};
use crate::report::{Report, Skipped, Tally};
use crate::settings::{Settings, SettingsError};

/// Records whose events every engine walks before the next ones are put in order.
const BATCH: usize = 4096;

/// Every combination of `windows` and `thresholds` (`None`: no count rule), on top of `base`'s
/// other rules, windows first.
///
/// ```
/// use std::time::Duration;
/// use breaker_replay::{Settings, sweep::combinations};
///
/// let all = combinations(&Settings::default(), &[Duration::from_secs(1), Duration::from_secs(5)], &[Some(1), Some(3)]);
/// let labels: Vec<String> = all.iter().map(ToString::to_string).collect();
/// assert_eq!(labels, ["W=1s T=1", "W=1s T=3", "W=5s T=1", "W=5s T=3"]);
/// ```
pub fn combinations(
    base: &Settings,
    windows: &[Duration],
    thresholds: &[Option<u32>],
) -> Vec<Settings> {
    windows
        .iter()
        .flat_map(|&window| {
            thresholds.iter().map(move |&threshold| Settings {
                window,
                threshold,
                ..base.clone()
            })
        })
        .collect()
}

/// One replay per setting, fed the same records.
///
/// ```
/// use std::time::Duration;
/// use breaker::Outcome;
/// use breaker_replay::{Record, Settings, Sweep, sweep::combinations};
///
/// let settings = combinations(&Settings::default(), &[Duration::from_secs(10)], &[Some(0), Some(5)]);
/// let mut sweep = Sweep::new(settings)?;
/// let records: Vec<Record> = (0..4)
///     .map(|i| Record { line: i + 1, start: i as i64, duration: Duration::ZERO, outcome: Outcome::Failure })
///     .collect();
/// sweep.feed(&records);
/// let rows = sweep.finish();
/// // T = 0 lets one failure through and rejects the rest; T = 5 lets all four through.
/// assert_eq!(rows[0].report.failures_let_through(), 1);
/// assert_eq!(rows[1].report.failures_let_through(), 4);
/// // Neither rejected a success: T = 0 is better on one measure, no worse on the other.
/// assert!(rows[0].pareto && !rows[1].pareto);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Sweep {
    settings: Vec<Settings>,
    /// The one order of events every setting walks.
    schedule: Schedule,
    engines: Vec<Engine>,
    /// The events of the records being replayed, kept to reuse their room.
    events: Vec<Event>,
}

impl Sweep {
    /// A sweep over `settings`, each replayed without keeping its changes.
    ///
    /// # Errors
    ///
    /// The first setting that does not build a breaker, and why.
    pub fn new(settings: Vec<Settings>) -> Result<Sweep, SettingsError> {
        let engines = settings
            .iter()
            .map(|s| Engine::new(s).map(Engine::without_changes))
            .collect::<Result<_, _>>()?;
        Ok(Sweep {
            settings,
            schedule: Schedule::default(),
            engines,
            events: Vec::new(),
        })
    }

    /// Replays `records` (the next ones, in the order of their starts) under every setting, in
    /// parallel: their events are put in order once, then every setting walks them.
    pub fn feed(&mut self, records: &[Record]) {
        // A few thousand at a time, so that the events every engine walks stay in the cores'
        // caches instead of being read from memory a hundred times.
        for batch in records.chunks(BATCH) {
            self.schedule.begin(&mut self.events);
            for record in batch {
                self.schedule.push(record, &mut self.events);
            }
            let events = &self.events;
            self.engines.par_iter_mut().for_each(|engine| {
                engine.apply(events);
            });
        }
    }

    /// Each setting with its report, in the order given, and whether it is on the Pareto front.
    pub fn finish(mut self) -> Vec<SweepRow> {
        self.schedule.begin(&mut self.events);
        self.schedule.finish(&mut self.events);
        let events = &self.events;
        let out_of_order = self.schedule.out_of_order;
        let reports: Vec<Report> = self
            .engines
            .into_par_iter()
            .map(|mut engine| {
                engine.apply(events);
                let (mut report, _) = engine.finish();
                report.skipped.out_of_order += out_of_order;
                report
            })
            .collect();
        let points: Vec<(u64, u64)> = reports
            .iter()
            .map(|r| (r.failures_let_through(), r.successes_rejected()))
            .collect();
        let front = pareto(&points);
        self.settings
            .into_iter()
            .zip(reports)
            .zip(front)
            .map(|((settings, report), pareto)| SweepRow {
                settings,
                report,
                pareto,
            })
            .collect()
    }
}

/// One setting of a sweep, and what it did.
///
/// In JSON, the report's object without `changes`, with `"window"` (seconds), `"threshold"` (a
/// number, or null with no count rule) and `"pareto"`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The setting.
    pub settings: Settings,
    /// What it did.
    pub report: Report,
    /// Whether no other setting of the sweep lets through fewer failures while rejecting no
    /// more successes, nor rejects fewer successes while letting through no more failures.
    pub pareto: bool,
}

/// The JSON object of a [`SweepRow`].
#[derive(Serialize)]
struct RowJson<'a> {
    window: f64,
    threshold: Option<u32>,
    calls: u64,
    admitted: u64,
    rejected: u64,
    outcomes: &'a Tally,
    rejected_by_outcome: &'a Tally,
    trips: u64,
    open_seconds: f64,
    skipped: &'a Skipped,
    pareto: bool,
}

impl Serialize for SweepRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.report;
        RowJson {
            window: self.settings.window.as_secs_f64(),
            threshold: self.settings.threshold,
            calls: r.calls,
            admitted: r.admitted,
            rejected: r.rejected,
            outcomes: &r.outcomes,
            rejected_by_outcome: &r.rejected_by_outcome,
            trips: r.trips,
            open_seconds: r.open_seconds,
            skipped: &r.skipped,
            pareto: self.pareto,
        }
        .serialize(s)
    }
}

/// For each point (failures let through, successes rejected): whether it is on the Pareto
/// front, that is no other point is lower on one measure and no higher on the other. Equal
/// points are on the front together.
///
/// ```
/// use breaker_replay::sweep::pareto;
///
/// assert_eq!(pareto(&[(1, 5), (2, 2), (3, 2), (5, 0), (1, 5)]), [true, true, false, true, true]);
/// ```
pub fn pareto(points: &[(u64, u64)]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| points[i]);
    let mut front = vec![false; points.len()];
    // The fewest successes rejected among points with strictly fewer failures let through.
    let mut best_before = u64::MAX;
    let mut group = 0;
    while group < order.len() {
        let failures = points[order[group]].0;
        let end = order[group..]
            .iter()
            .position(|&i| points[i].0 != failures)
            .map_or(order.len(), |n| group + n);
        // Sorted: the group's first has its fewest successes rejected.
        let fewest = points[order[group]].1;
        for &i in &order[group..end] {
            front[i] = points[i].1 == fewest && fewest < best_before;
        }
        best_before = best_before.min(fewest);
        group = end;
    }
    front
}

/// The sweep's human table: ranked by the failures let through, then the successes rejected,
/// Pareto rows marked with `*`.
///
/// ```
/// use std::time::Duration;
/// use breaker_replay::{Report, Settings, SweepRow, sweep::Table};
///
/// let row = SweepRow { settings: Settings::default(), report: Report::default(), pareto: true };
/// let text = Table(&[row]).to_string();
/// assert!(text.lines().nth(1).unwrap().starts_with("*"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Table<'a>(pub &'a [SweepRow]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<&SweepRow> = self.0.iter().collect();
        rows.sort_by_key(|r| {
            (
                r.report.failures_let_through(),
                r.report.successes_rejected(),
            )
        });
        let header = [
            "window",
            "threshold",
            "failures let through",
            "successes rejected",
            "rejected",
            "trips",
            "open",
        ];
        let cells: Vec<[String; 7]> = rows
            .iter()
            .map(|r| {
                let report = &r.report;
                [
                    humantime::format_duration(r.settings.window).to_string(),
                    r.settings
                        .threshold
                        .map_or_else(|| "none".to_owned(), |t| t.to_string()),
                    report.failures_let_through().to_string(),
                    report.successes_rejected().to_string(),
                    report.rejected.to_string(),
                    report.trips.to_string(),
                    report
                        .open_share()
                        .map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", s * 100.0)),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        write!(f, " ")?;
        for (title, width) in header.iter().zip(widths) {
            write!(f, "  {title:>width$}")?;
        }
        writeln!(f)?;
        for (row, cells) in rows.iter().zip(&cells) {
            write!(f, "{}", if row.pareto { "*" } else { " " })?;
            for (cell, width) in cells.iter().zip(widths) {
                write!(f, "  {cell:>width$}")?;
            }
            writeln!(f)?;
        }
        if let Some(first) = rows.first() {
            let r = &first.report;
            writeln!(
                f,
                "* on the Pareto front: no other setting lets through fewer failures while \
                 rejecting no more successes, or the other way round."
            )?;
            writeln!(
                f,
                "{} calls ({} failures), {} settings",
                r.calls,
                r.outcomes.failure + r.rejected_by_outcome.failure,
                rows.len()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Replay;
    use breaker::Outcome;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn burst() -> Vec<Record> {
        // Successes every 100 ms for 20 s, with failures instead from 5 s to 7 s.
        (0..200)
            .map(|i| Record {
                line: i + 1,
                start: i as i64 * 100_000_000,
                duration: Duration::from_millis(20),
                outcome: if (50..70).contains(&i) {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
            })
            .collect()
    }

    #[test]
    fn combinations_take_every_window_with_every_threshold() {
        let base = Settings {
            consecutive: Some(4),
            ..Settings::default()
        };
        let all = combinations(&base, &[secs(1), secs(5), secs(30)], &[Some(1), None]);
        assert_eq!(all.len(), 6);
        assert_eq!((all[1].window, all[1].threshold), (secs(1), None));
        assert!(all.iter().all(|s| s.consecutive == Some(4)));
    }

    #[test]
    fn a_sweep_gives_each_setting_what_its_own_replay_gives() {
        let settings = combinations(
            &Settings::default(),
            &[secs(1), secs(5), secs(30)],
            &[Some(0), Some(3), Some(10)],
        );
        let records = burst();
        let mut sweep = Sweep::new(settings.clone()).unwrap();
        for chunk in records.chunks(7) {
            sweep.feed(chunk);
        }
        let rows = sweep.finish();
        for (row, s) in rows.iter().zip(&settings) {
            let mut alone = Replay::new(s).unwrap();
            alone.feed(&records);
            let (mut report, _) = alone.finish();
            report.changes.clear();
            assert_eq!(row.settings, *s);
            assert_eq!(row.report, report, "{s}");
        }
    }

    #[test]
    fn the_pareto_front_keeps_the_settings_nothing_beats() {
        assert_eq!(pareto(&[]), Vec::<bool>::new());
        assert_eq!(pareto(&[(3, 3)]), [true]);
        // (2, 4) is beaten by (2, 3); (4, 3) by (2, 3); (0, 9) and (9, 0) are extremes.
        assert_eq!(
            pareto(&[(2, 4), (2, 3), (4, 3), (0, 9), (9, 0), (0, 9)]),
            [false, true, false, true, true, true]
        );
    }

    #[test]
    fn a_row_in_json_has_the_reports_keys_without_changes() {
        let row = SweepRow {
            settings: Settings {
                window: Duration::from_millis(1500),
                threshold: None,
                consecutive: Some(2),
                ..Settings::default()
            },
            report: Report::default(),
            pareto: true,
        };
        let json = serde_json::to_value(&row).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // The object's own order, as written: the documented one.
        let written = serde_json::to_string(&row).unwrap();
        let expected = [
            "window",
            "threshold",
            "calls",
            "admitted",
            "rejected",
            "outcomes",
            "rejected_by_outcome",
            "trips",
            "open_seconds",
            "skipped",
            "pareto",
        ];
        assert_eq!(keys.len(), expected.len(), "{written}");
        let mut at = 0;
        for key in expected {
            let found = written[at..]
                .find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("{key} missing or out of order in {written}"));
            at += found;
        }
        assert_eq!(json["window"], 1.5);
        assert_eq!(json["threshold"], serde_json::Value::Null);
    }

    #[test]
    fn the_table_ranks_by_failures_let_through_then_successes_rejected() {
        let settings = combinations(
            &Settings::default(),
            &[secs(1), secs(30)],
            &[Some(0), Some(10)],
        );
        let mut sweep = Sweep::new(settings).unwrap();
        sweep.feed(&burst());
        let rows = sweep.finish();
        let text = Table(&rows).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("failures let through"));
        let ranked: Vec<(u64, u64)> = lines[1..=rows.len()]
            .iter()
            .map(|line| {
                let cells: Vec<&str> = line.split_whitespace().collect();
                let at = cells.len() - 4;
                (cells[at - 1].parse().unwrap(), cells[at].parse().unwrap())
            })
            .collect();
        let mut sorted = ranked.clone();
        sorted.sort();
        assert_eq!(ranked, sorted);
        let marked = lines[1..=rows.len()]
            .iter()
            .filter(|l| l.starts_with('*'))
            .count();
        assert_eq!(marked, rows.iter().filter(|r| r.pareto).count());
    }
}
