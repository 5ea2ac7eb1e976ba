//! Request metrics in the Prometheus text format, without a metrics crate.
//!
//! Two families, labelled by method, route pattern (never the raw path, so the label set stays
//! small and holds no ids) and status:
//! `credvault_http_requests_total` and the histogram `credvault_http_request_duration_seconds`.
//!
//! Every label comes from a small set, since anyone can send requests: a method outside RFC
//! 9110's (and PATCH) is recorded as `OTHER`, unmatched paths as `unmatched`. As a last guard
//! the number of series is capped at [`MAX_SERIES`]; requests that would open a series beyond
//! it are only counted in `credvault_http_requests_unrecorded_total`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The most series kept; far above what the routes, methods and statuses can combine to.
pub const MAX_SERIES: usize = 2000;

/// The methods recorded by name; any other is `OTHER`.
const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The `method` label of a request method.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Non-cumulative counts per bucket; the last slot counts observations above every bound.
    buckets: [u64; BUCKETS.len() + 1],
}

/// Counters and histograms of the requests served.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<SeriesKey, Series>>,
    unrecorded: AtomicU64,
}

impl Metrics {
    /// Records one finished request (`method` is reduced to [`method_label`]).
    pub fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let key = SeriesKey {
            method: method_label(method).to_owned(),
            route: route.to_owned(),
            status,
        };
        let Ok(mut series) = self.series.lock() else {
            return;
        };
        if series.len() >= MAX_SERIES && !series.contains_key(&key) {
            self.unrecorded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        entry.buckets[slot] += 1;
    }

    /// The Prometheus text exposition (format 0.0.4) of everything recorded.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(series) = self.series.lock() else {
            return out;
        };
        out.push_str("# HELP credvault_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE credvault_http_requests_total counter\n");
        for (key, value) in series.iter() {
            let _ = writeln!(
                out,
                "credvault_http_requests_total{{{}}} {}",
                labels(key),
                value.count
            );
        }
        out.push_str(
            "# HELP credvault_http_request_duration_seconds Time to produce the response head.\n",
        );
        out.push_str("# TYPE credvault_http_request_duration_seconds histogram\n");
        for (key, value) in series.iter() {
            let labels = labels(key);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(value.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "credvault_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "credvault_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                value.count
            );
            let _ = writeln!(
                out,
                "credvault_http_request_duration_seconds_sum{{{labels}}} {}",
                value.sum_seconds
            );
            let _ = writeln!(
                out,
                "credvault_http_request_duration_seconds_count{{{labels}}} {}",
                value.count
            );
        }
        out.push_str(
            "# HELP credvault_http_requests_unrecorded_total Requests not recorded above because \
             the series cap was reached.\n",
        );
        out.push_str("# TYPE credvault_http_requests_unrecorded_total counter\n");
        let _ = writeln!(
            out,
            "credvault_http_requests_unrecorded_total {}",
            self.unrecorded.load(Ordering::Relaxed)
        );
        out
    }
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape(&key.method),
        escape(&key.route),
        key.status
    )
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.record("GET", "/healthz", 200, Duration::from_micros(500));
        metrics.record("GET", "/healthz", 200, Duration::from_millis(30));
        metrics.record("GET", "/healthz", 200, Duration::from_secs(9));
        let text = metrics.render();
        assert!(text.contains(
            "credvault_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"
        ));
        assert!(text.contains("le=\"0.001\"} 1\n"));
        assert!(text.contains("le=\"0.05\"} 2\n"));
        assert!(text.contains("le=\"5\"} 2\n"));
        assert!(text.contains("le=\"+Inf\"} 3\n"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("ZZQQMETHOD"), "OTHER");
        assert_eq!(method_label("get"), "OTHER", "methods are case-sensitive");
    }

    #[test]
    fn the_number_of_series_is_capped() {
        let metrics = Metrics::default();
        for status in 0..(MAX_SERIES + 10) {
            let route = format!("/route/{status}");
            metrics.record("GET", &route, 200, Duration::ZERO);
        }
        // An existing series still counts.
        metrics.record("GET", "/route/0", 200, Duration::ZERO);
        let text = metrics.render();
        let series = text
            .lines()
            .filter(|line| line.starts_with("credvault_http_requests_total{"))
            .count();
        assert_eq!(series, MAX_SERIES);
        assert!(text.contains("route=\"/route/0\",status=\"200\"} 2\n"));
        assert!(text.contains("credvault_http_requests_unrecorded_total 10\n"));
    }
}
