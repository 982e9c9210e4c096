//! The reorder buffer: records in, records out in start order, within a bounded lag.
//!
//! Logs are written when calls end, so starts arrive a little out of order. A record is held
//! until the newest start seen is at least the lag past its own, then released in (start, input
//! order); one that arrives older than a record already released is too late and is left out.
//! So at any moment only the records of the last lag are held, however long the log.
//!
//! Held records live in sorted runs, because logs are nearly sorted and a binary heap over the
//! records of a whole lag (tens of thousands) costs more per record than all the parsing. A
//! record that arrives in order is appended to the main queue in constant time, and one a
//! little late (within the queue's last [`NEAR`]) is inserted there by a short shift. One that
//! arrives further back (an access log's start is its logged end less its duration, so many
//! do) joins a batch; a full batch (or one that holds the next record out) is sorted into a run
//! of its own, merged at once with any run not more than twice as long, so that run lengths
//! grow geometrically: there are few runs, and a record is merged a logarithmic number of
//! times. The next record out is the smallest of the fronts: a few comparisons of memory that
//! is already in cache.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::Duration;

use crate::Record;

/// How far back from the queue's end a late record is inserted, rather than batched.
const NEAR: usize = 64;

/// How many late records a batch takes before it is sorted into a run.
const BATCH: usize = 1024;

/// Holds records until they can be released in start order.
#[derive(Debug)]
pub(crate) struct Reorder {
    /// The lag in nanoseconds, exact: two starts can be up to `u64::MAX` ns apart, and a lag
    /// cut to fit an `i64` would release records that a longer one holds.
    lag: u128,
    /// The newest start pushed so far.
    newest: Option<i64>,
    /// The start of the last record released.
    released: Option<i64>,
    /// The input order of the next record pushed.
    sequence: u64,
    /// Held records, sorted by (start, sequence): those that arrived in order or nearly.
    in_order: VecDeque<Held>,
    /// Records that arrived further back than the queue's last [`NEAR`], not yet sorted.
    batch: Vec<Held>,
    /// The smallest key in the batch.
    batch_first: Option<(i64, u64)>,
    /// Sorted runs of late records, each by (start, sequence).
    runs: Vec<VecDeque<Held>>,
}

/// Where the first held record is.
#[derive(Debug, Clone, Copy)]
enum Front {
    Queue,
    Run(usize),
}

/// A held record, ordered by its start and then by its place in the input.
#[derive(Debug)]
struct Held {
    sequence: u64,
    record: Record,
}

impl Held {
    fn start(&self) -> i64 {
        self.record.start
    }

    fn key(&self) -> (i64, u64) {
        (self.record.start, self.sequence)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Reorder {
    /// A buffer that holds a record until the newest start is `lag` past its own.
    pub(crate) fn new(lag: Duration) -> Self {
        Self {
            lag: lag.as_nanos(),
            newest: None,
            released: None,
            sequence: 0,
            in_order: VecDeque::new(),
            batch: Vec::new(),
            batch_first: None,
            runs: Vec::new(),
        }
    }

    /// Takes a record in; `false` if it starts before a record already released, and so is
    /// left out.
    pub(crate) fn push(&mut self, record: Record) -> bool {
        let start = record.start;
        if self.released.is_some_and(|released| start < released) {
            return false;
        }
        self.newest = Some(self.newest.map_or(start, |newest| newest.max(start)));
        let held = Held {
            sequence: self.sequence,
            record,
        };
        self.sequence += 1;
        if self
            .in_order
            .back()
            .is_none_or(|last| last.start() <= start)
        {
            self.in_order.push_back(held);
            return true;
        }
        // Its place among the queue's last NEAR: after every record that starts no later (ties
        // keep input order), before every one that starts later.
        let from = self.in_order.len().saturating_sub(NEAR);
        let (mut low, mut high) = (from, self.in_order.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if self
                .in_order
                .get(middle)
                .is_some_and(|h| h.start() <= start)
            {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        if low > from || from == 0 {
            self.in_order.insert(low, held);
        } else {
            let key = held.key();
            self.batch_first = Some(self.batch_first.map_or(key, |first| first.min(key)));
            self.batch.push(held);
            if self.batch.len() >= BATCH {
                self.sort_batch();
            }
        }
        true
    }

    /// Sorts the batch into a run of its own, merged with every run not more than twice as long.
    fn sort_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut run = std::mem::take(&mut self.batch);
        self.batch_first = None;
        run.sort_unstable();
        while let Some(index) = self.runs.iter().position(|r| r.len() <= 2 * run.len()) {
            run.extend(self.runs.swap_remove(index));
            // A stable sort finds the two sorted runs and merges them.
            run.sort();
        }
        self.runs.push(VecDeque::from(run));
    }

    /// Where the first held record in (start, input order) is, and its start.
    fn front(&mut self) -> Option<(Front, i64)> {
        let mut best = self.in_order.front().map(|h| (h.key(), Front::Queue));
        for (index, run) in self.runs.iter().enumerate() {
            if let Some(held) = run.front()
                && best.is_none_or(|(key, _)| held.key() < key)
            {
                best = Some((held.key(), Front::Run(index)));
            }
        }
        if let Some(first) = self.batch_first
            && best.is_none_or(|(key, _)| first < key)
        {
            // The batch holds the first: sorted, it is the front of the last run.
            self.sort_batch();
            return self.front();
        }
        best.map(|((start, _), front)| (front, start))
    }

    /// The first record in start order, if the newest start is at least the lag past it.
    pub(crate) fn pop_ready(&mut self) -> Option<Record> {
        let newest = self.newest?;
        let (front, start) = self.front()?;
        // Exact at the ends of time: `start + lag` saturated at `i64::MAX` would be due as soon
        // as a record started there.
        if start <= newest && u128::from(newest.abs_diff(start)) >= self.lag {
            self.take(front)
        } else {
            None
        }
    }

    /// The first record in start order, ready or not: for the end of the input.
    pub(crate) fn pop(&mut self) -> Option<Record> {
        let (front, _) = self.front()?;
        self.take(front)
    }

    /// Takes the record at the front of `front`.
    fn take(&mut self, front: Front) -> Option<Record> {
        let held = match front {
            Front::Queue => self.in_order.pop_front(),
            Front::Run(index) => {
                let run = self.runs.get_mut(index)?;
                let held = run.pop_front();
                if run.is_empty() {
                    self.runs.swap_remove(index);
                }
                held
            }
        }?;
        self.released = Some(held.start());
        Some(held.record)
    }

    /// Forgets every held record.
    pub(crate) fn clear(&mut self) {
        self.in_order.clear();
        self.batch.clear();
        self.batch_first = None;
        self.runs.clear();
    }

    /// How many records are held.
    pub(crate) fn held(&self) -> usize {
        self.in_order.len() + self.batch.len() + self.runs.iter().map(VecDeque::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use breaker::Outcome;

    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn record(line: u64, start: i64) -> Record {
        Record {
            line,
            start,
            duration: Duration::ZERO,
            outcome: Outcome::Success,
        }
    }

    /// Pushes records with the given starts (seconds) in turn, releasing what is ready after
    /// each; returns the lines released in order, and the lines left out.
    fn run(lag_seconds: u64, starts: &[i64]) -> (Vec<u64>, Vec<u64>) {
        let mut reorder = Reorder::new(Duration::from_secs(lag_seconds));
        let (mut out, mut left_out) = (Vec::new(), Vec::new());
        for (i, &start) in starts.iter().enumerate() {
            let line = i as u64 + 1;
            if !reorder.push(record(line, start * SECOND)) {
                left_out.push(line);
            }
            while let Some(r) = reorder.pop_ready() {
                out.push(r.line);
            }
        }
        while let Some(r) = reorder.pop() {
            out.push(r.line);
        }
        (out, left_out)
    }

    #[test]
    fn sorted_input_comes_out_as_it_went_in() {
        assert_eq!(run(60, &[1, 2, 3, 100, 200]), (vec![1, 2, 3, 4, 5], vec![]));
    }

    #[test]
    fn ties_keep_input_order() {
        assert_eq!(run(60, &[5, 5, 3, 5, 3]), (vec![3, 5, 1, 2, 4], vec![]));
        assert_eq!(run(0, &[5, 5, 5]), (vec![1, 2, 3], vec![]));
    }

    #[test]
    fn records_within_the_lag_are_reordered() {
        assert_eq!(
            run(10, &[10, 4, 12, 1, 9, 30]),
            (vec![4, 2, 5, 1, 3, 6], vec![])
        );
    }

    #[test]
    fn a_record_older_than_one_released_is_left_out() {
        // 20 releases 5 (lag 10); then 3 is older than 5, and 5 itself is a tie, so kept.
        assert_eq!(run(10, &[5, 20, 3, 5, 12]), (vec![1, 4, 5, 2], vec![3]));
    }

    #[test]
    fn a_zero_lag_releases_at_once() {
        assert_eq!(run(0, &[3, 1, 4, 1, 5]), (vec![1, 3, 5], vec![2, 4]));
    }

    #[test]
    fn a_record_is_held_until_the_newest_is_a_full_lag_past_it() {
        let mut reorder = Reorder::new(Duration::from_secs(10));
        reorder.push(record(1, 0));
        reorder.push(record(2, 10 * SECOND - 1));
        assert_eq!(reorder.pop_ready(), None);
        reorder.push(record(3, 10 * SECOND));
        assert_eq!(reorder.pop_ready().map(|r| r.line), Some(1));
        assert_eq!(reorder.pop_ready(), None);
    }

    #[test]
    fn memory_is_bounded_by_the_lag_not_the_length() {
        // A million records, ten per second, each up to 3 s late; a lag of 5 s.
        let lag = 5;
        let mut reorder = Reorder::new(Duration::from_secs(lag));
        let mut most_held = 0;
        let mut released = 0u64;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in 0..1_000_000i64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let jitter = (state % 3_000) as i64 * 1_000_000;
            let start = i * SECOND / 10 - jitter;
            assert!(reorder.push(record(i as u64, start)), "record {i} left out");
            while reorder.pop_ready().is_some() {
                released += 1;
            }
            most_held = most_held.max(reorder.held());
        }
        // Held: the records of the last `lag` seconds plus those up to 3 s late, ten a second.
        assert!(most_held <= (lag as usize + 3) * 10 + 1, "held {most_held}");
        while reorder.pop().is_some() {
            released += 1;
        }
        assert_eq!(released, 1_000_000);
    }

    #[test]
    fn a_record_far_behind_the_queue_end_still_takes_its_place() {
        // NEAR + 36 records in order, then one that starts before all of them: the heap's case.
        let mut starts: Vec<i64> = (10..110).collect();
        starts.push(5);
        starts.push(10);
        starts.push(200);
        let (out, left_out) = run(1_000, &starts);
        let mut expected: Vec<u64> = vec![101, 1, 102];
        expected.extend(2..=100);
        expected.push(103);
        assert_eq!(out, expected);
        assert!(left_out.is_empty());
    }

    /// What the buffer must do, the plain way: release the first held record by (start, input
    /// order) once the newest start is a lag past it; leave out any older than one released.
    fn model(lag: i64, starts: &[i64]) -> (Vec<u64>, Vec<u64>) {
        let mut held = std::collections::BTreeSet::new();
        let (mut out, mut left_out) = (Vec::new(), Vec::new());
        let (mut newest, mut released) = (i64::MIN, i64::MIN);
        for (i, &start) in starts.iter().enumerate() {
            let line = i as u64 + 1;
            if start < released {
                left_out.push(line);
                continue;
            }
            newest = newest.max(start);
            held.insert((start, line));
            while let Some(&(s, l)) = held.first() {
                if s.saturating_add(lag) > newest {
                    break;
                }
                held.pop_first();
                released = s;
                out.push(l);
            }
        }
        out.extend(held.iter().map(|&(_, l)| l));
        (out, left_out)
    }

    /// Starts in milliseconds: one a millisecond, each up to `jitter` ms early.
    fn jittered(count: usize, jitter: u64, mut state: u64) -> Vec<i64> {
        (0..count)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                i as i64 - (state % (jitter + 1)) as i64
            })
            .collect()
    }

    #[test]
    fn runs_stay_few_when_late_records_are_due_at_once() {
        // Two sources, one nearly a lag behind the other: each of its records is next out
        // soon after it arrives, so batches are sorted one or two records at a time.
        let lag = 1_000;
        let starts: Vec<i64> = (0..20_000)
            .map(|i| if i % 2 == 0 { i } else { i - lag + 1 })
            .collect();
        let mut reorder = Reorder::new(Duration::from_nanos(lag as u64));
        let mut out = Vec::new();
        let mut most_runs = 0;
        for (i, &start) in starts.iter().enumerate() {
            assert!(reorder.push(record(i as u64 + 1, start)));
            while let Some(r) = reorder.pop_ready() {
                out.push(r.line);
            }
            most_runs = most_runs.max(reorder.runs.len());
        }
        while let Some(r) = reorder.pop() {
            out.push(r.line);
        }
        assert!(out == model(lag, &starts).0);
        assert!(most_runs <= 16, "{most_runs} runs");
    }

    #[test]
    fn many_late_records_through_batches_and_merged_runs() {
        // An access log's pattern: a thousand calls a second, many a second late or more.
        let starts: Vec<i64> = jittered(60_000, 2_000, 0x9e37_79b9_7f4a_7c15);
        for lag_ms in [0, 500, 5_000, 20_000] {
            let mut reorder = Reorder::new(Duration::from_millis(lag_ms));
            let (mut out, mut left_out) = (Vec::new(), Vec::new());
            for (i, &start) in starts.iter().enumerate() {
                let line = i as u64 + 1;
                if !reorder.push(record(line, start * 1_000_000)) {
                    left_out.push(line);
                }
                while let Some(r) = reorder.pop_ready() {
                    out.push(r.line);
                }
            }
            while let Some(r) = reorder.pop() {
                out.push(r.line);
            }
            let ms: Vec<i64> = starts.iter().map(|s| s * 1_000_000).collect();
            assert!(
                out == model(lag_ms as i64 * 1_000_000, &ms).0,
                "lag {lag_ms} ms"
            );
            assert_eq!(left_out, model(lag_ms as i64 * 1_000_000, &ms).1);
        }
    }

    proptest::proptest! {
        #[test]
        fn it_does_what_the_model_does(
            lag in 0u64..50,
            // A trend with jitter: sorted, nearly sorted, or scattered, as the jitter says.
            jitter in 0i64..400,
            noise in proptest::collection::vec(0i64..1_000, 0..400),
        ) {
            let starts: Vec<i64> = noise
                .iter()
                .enumerate()
                .map(|(i, n)| i as i64 - n % (jitter + 1))
                .collect();
            proptest::prop_assert_eq!(run(lag, &starts), model(lag as i64 * SECOND, &starts.iter().map(|s| s * SECOND).collect::<Vec<_>>()));
        }
    }

    #[test]
    fn a_lag_is_exact_at_the_ends_of_time() {
        // A lag of i64::MAX ns: a record at 0 is due once one starts at i64::MAX, one at 1 ns
        // is not (its start plus the lag is past what an i64 holds).
        let lag = Duration::from_nanos(i64::MAX as u64);
        let mut reorder = Reorder::new(lag);
        reorder.push(record(1, 1));
        reorder.push(record(2, i64::MAX));
        assert_eq!(reorder.pop_ready(), None);
        let mut reorder = Reorder::new(lag);
        reorder.push(record(1, 0));
        reorder.push(record(2, i64::MAX));
        assert_eq!(reorder.pop_ready().map(|r| r.line), Some(1));
        assert_eq!(reorder.pop_ready(), None);
        // A lag longer than any two starts are apart holds everything until the end, so that
        // nothing is left out.
        let mut reorder = Reorder::new(Duration::MAX);
        for (line, start) in [(1, -9_000_000_000_000_000_000), (2, i64::MAX), (3, 0)] {
            assert!(reorder.push(record(line, start)));
            assert_eq!(reorder.pop_ready(), None);
        }
        let out: Vec<u64> = std::iter::from_fn(|| reorder.pop())
            .map(|r| r.line)
            .collect();
        assert_eq!(out, [1, 3, 2]);
    }

    #[test]
    fn a_huge_lag_holds_everything_until_the_end() {
        assert_eq!(run(u64::MAX, &[3, 1, 2]), (vec![2, 3, 1], vec![]));
    }
}
