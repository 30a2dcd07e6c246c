//! Flow counts and latencies.

use std::fmt;
use std::time::Duration;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::flow::{Kind, Step};

/// At most this many distinct error messages are kept.
const MAX_SAMPLES: usize = 5;

/// One worker's (or, merged, the run's) flows.
#[derive(Default)]
pub struct Stats {
    /// Milliseconds per successful flow.
    latencies: Vec<f64>,
    /// Milliseconds per step, summed over the successful flows.
    step_sum: [f64; Step::COUNT],
    errors: u64,
    samples: Vec<String>,
}

impl Stats {
    pub fn succeeded(&mut self, total_ms: f64, steps_ms: &[f64; Step::COUNT]) {
        self.latencies.push(total_ms);
        for (sum, ms) in self.step_sum.iter_mut().zip(steps_ms) {
            *sum += ms;
        }
    }

    pub fn failed(&mut self, msg: String) {
        self.errors += 1;
        self.sample(msg);
    }

    fn sample(&mut self, msg: String) {
        if self.samples.len() < MAX_SAMPLES && !self.samples.contains(&msg) {
            self.samples.push(msg);
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.latencies.extend(other.latencies);
        for (sum, s) in self.step_sum.iter_mut().zip(other.step_sum) {
            *sum += s;
        }
        self.errors += other.errors;
        for msg in other.samples {
            self.sample(msg);
        }
    }

    /// The summary of a run of `kind` flows that took `elapsed` and `cpu_s` seconds of
    /// this process's CPU.
    pub fn summary(mut self, kind: Kind, elapsed: Duration, cpu_s: f64) -> Summary {
        self.latencies.sort_unstable_by(f64::total_cmp);
        let n = self.latencies.len();
        let secs = elapsed.as_secs_f64();
        let per_flow = |sum: f64| if n > 0 { sum / n as f64 } else { 0.0 };
        Summary {
            flows: n,
            errors: self.errors,
            duration_s: Num::round(secs, 3),
            flows_per_s: Num::round(n as f64 / secs, 1),
            p50_ms: Num::round(percentile(&self.latencies, 50.0), 2),
            p99_ms: Num::round(percentile(&self.latencies, 99.0), 2),
            steps_ms: StepsMs { ms: self.step_sum.map(|s| Num::round(per_flow(s), 3)), push: kind == Kind::Par },
            error_samples: self.samples,
            client_cpu: Num::round(cpu_s / secs, 2),
        }
    }
}

/// The percentile: the value at rank ceil(q% · n), over sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The fields of the result after `mode`, `target` and `workers`, in its order.
#[derive(Serialize)]
pub struct Summary {
    pub flows: usize,
    pub errors: u64,
    pub duration_s: Num,
    pub flows_per_s: Num,
    pub p50_ms: Num,
    pub p99_ms: Num,
    pub steps_ms: StepsMs,
    pub error_samples: Vec<String>,
    pub client_cpu: Num,
}

/// The JSON line on stdout.
#[derive(Serialize)]
pub struct Report<'a> {
    pub mode: &'a str,
    pub target: &'a str,
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    #[serde(flatten)]
    pub summary: Summary,
}

/// Mean milliseconds per step, as an object keyed by step name (`push` only in PAR
/// flows, the only ones that have it).
pub struct StepsMs {
    ms: [Num; Step::COUNT],
    push: bool,
}

impl Serialize for StepsMs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let skip = usize::from(!self.push);
        let mut map = s.serialize_map(Some(Step::COUNT - skip))?;
        for (name, ms) in Step::NAMES.iter().zip(&self.ms).skip(skip) {
            map.serialize_entry(name, ms)?;
        }
        map.end()
    }
}

/// A number rounded, written as JavaScript writes it (no ".0"
/// on whole numbers).
#[derive(Clone, Copy)]
pub struct Num(f64);

impl Num {
    fn round(x: f64, digits: i32) -> Self {
        let scale = 10f64.powi(digits);
        Num((x * scale).round() / scale)
    }

    fn whole(self) -> Option<i64> {
        let x = self.0;
        (x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15).then_some(x as i64)
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.whole() {
            Some(i) => s.serialize_i64(i),
            None => s.serialize_f64(self.0),
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.whole() {
            Some(i) => write!(f, "{i}"),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_at_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn numbers_as_javascript() {
        let j = |n: Num| serde_json::to_string(&n).unwrap();
        assert_eq!(j(Num::round(3.0, 1)), "3");
        assert_eq!(j(Num::round(0.345, 2)), "0.35");
        assert_eq!(j(Num::round(12.34567, 3)), "12.346");
    }

    #[test]
    fn samples_are_distinct_and_few() {
        let mut s = Stats::default();
        for i in 0..10 {
            s.failed(format!("e{}", i % 7));
            s.failed("e0".into());
        }
        let sum = s.summary(Kind::Plain, Duration::from_secs(1), 0.0);
        assert_eq!(sum.errors, 20);
        assert_eq!(sum.error_samples, ["e0", "e1", "e2", "e3", "e4"]);
    }

    #[test]
    fn push_is_a_step_of_par_flows_only() {
        let keys = |kind| {
            let mut s = Stats::default();
            s.succeeded(9.0, &[1.0; Step::COUNT]);
            let v = serde_json::to_value(&s.summary(kind, Duration::from_secs(1), 0.0).steps_ms).unwrap();
            v.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
        };
        assert!(keys(Kind::Par).contains(&"push".to_string()));
        assert_eq!(keys(Kind::Par).len(), 9);
        assert!(!keys(Kind::Plain).contains(&"push".to_string()));
        assert_eq!(keys(Kind::Dpop).len(), 8);
    }
}
