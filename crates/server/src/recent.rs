//! The last hour of traffic, minute by minute, for the status page (`GET /`): requests, errors
//! and tokens. Prometheus keeps history for those who scrape `/metrics`; a person opening the
//! page wants "what happened lately" without one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// How many minutes are kept.
const MINUTES: i64 = 60;

/// One minute's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) requests: u64,
    /// Answers with a status of 400 or more.
    pub(crate) errors: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// The figures of the last [`MINUTES`] minutes. Cheap to clone (clones share them); time is
/// passed in (Unix seconds).
#[derive(Clone, Debug, Default)]
pub(crate) struct Recent(Arc<Mutex<VecDeque<(i64, Totals)>>>);

impl Recent {
    /// Counts one finished request at `now`.
    pub(crate) fn record(&self, now: i64, request: &Totals) {
        let minute = now.div_euclid(60);
        let mut minutes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match minutes.back_mut() {
            Some((m, totals)) if *m == minute => totals.add(request),
            _ => minutes.push_back((minute, *request)),
        }
        while minutes.front().is_some_and(|(m, _)| *m <= minute - MINUTES) {
            minutes.pop_front();
        }
    }

    /// The sum over the hour before `now`.
    pub(crate) fn last_hour(&self, now: i64) -> Totals {
        let minute = now.div_euclid(60);
        let minutes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sum = Totals::default();
        for (_, totals) in minutes.iter().filter(|(m, _)| *m > minute - MINUTES) {
            sum.add(totals);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(tokens: u64, failed: bool) -> Totals {
        Totals {
            requests: 1,
            errors: u64::from(failed),
            input_tokens: tokens,
            output_tokens: 1,
        }
    }

    #[test]
    fn sums_the_last_hour_and_forgets_what_is_older() {
        let recent = Recent::default();
        let start = 1_800_000_000;
        recent.record(start, &one(10, false));
        recent.record(start + 5, &one(20, true));
        recent.record(start + 30 * 60, &one(30, false));
        let at_half = recent.last_hour(start + 30 * 60);
        assert_eq!(at_half.requests, 3);
        assert_eq!(at_half.errors, 1);
        assert_eq!(at_half.input_tokens, 60);
        // An hour and a minute later only the last one is within the hour.
        let later = recent.last_hour(start + 61 * 60);
        assert_eq!(later.requests, 1);
        assert_eq!(later.input_tokens, 30);
        // Recording long after drops the old minutes from memory too.
        recent.record(start + 10 * 3600, &one(1, false));
        assert_eq!(recent.0.lock().unwrap().len(), 1);
    }
}
