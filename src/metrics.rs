//! Counters of what happened since the process started, for `GET /metrics` (Prometheus text
//! format, written by `web::ops`).
//!
//! Why statics rather than a struct handed down: the places that count (the SIP transport, the
//! admission control, the call layer, the store) sit in different layers, and threading one more
//! handle through each would touch every constructor for one `fetch_add`. A process runs one
//! Hotline, so process-wide counters are the server's counters — the same choice as the default
//! registry of the usual Prometheus client libraries. (Tests that read them run alone in their
//! own test binary, `tests/ops.rs`.) This module depends on nothing, so every layer may use it.
//!
//! Values that the store already knows (phone bindings, the transcription queue) are not
//! counted here: `/metrics` reads them from the store at scrape time, so they survive restarts
//! and cannot drift.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A monotonic count (a Prometheus `counter`).
#[derive(Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

/// A value that goes up and down (a Prometheus `gauge`).
#[derive(Debug)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub const fn new() -> Gauge {
        Gauge(AtomicI64::new(0))
    }

    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Gauge {
    fn default() -> Self {
        Gauge::new()
    }
}

/// SIP messages that reached the transport (datagrams, and messages framed from TCP streams).
pub static SIP_MESSAGES_RECEIVED: Counter = Counter::new();
/// SIP messages rsip could not parse (answered 400/501 from the raw text, or dropped).
pub static SIP_PARSE_ERRORS: Counter = Counter::new();
/// Requests refused by the request checks (`sip::validate`: 400 naming the fault, 416, 505…).
pub static SIP_REQUESTS_INVALID: Counter = Counter::new();
/// Requests dropped because their User-Agent is a known scanner.
pub static SIP_SCANNER_REQUESTS: Counter = Counter::new();
/// Messages over `[limits] max_message_bytes` (513).
pub static SIP_OVERSIZED_MESSAGES: Counter = Counter::new();
/// TCP connections closed at accept (over the global or per-source connection limit).
pub static SIP_TCP_CONNECTIONS_REFUSED: Counter = Counter::new();
/// SIP over TLS connections whose handshake failed or did not finish in time.
pub static SIP_TLS_HANDSHAKES_FAILED: Counter = Counter::new();
/// Digest authentications that failed (wrong password, unknown user, malformed credentials).
pub static SIP_AUTH_FAILURES: Counter = Counter::new();

/// New calls refused with 503: over the global limit of calls in progress.
pub static CALLS_REFUSED_SERVER_FULL: Counter = Counter::new();
/// New calls refused with 503: over the per-source limit of calls in progress.
pub static CALLS_REFUSED_SOURCE_BUSY: Counter = Counter::new();
/// New calls refused with 503: over the per-source limit of new calls per minute.
pub static CALLS_REFUSED_SOURCE_RATE: Counter = Counter::new();
/// New calls refused with 503: the media loops are behind (the CPU is full).
pub static CALLS_REFUSED_OVERLOADED: Counter = Counter::new();
/// New calls refused with 503 because the server is shutting down.
pub static CALLS_REFUSED_SHUTTING_DOWN: Counter = Counter::new();
/// How late the media loops finish their 20 ms rounds, in microseconds: the slowest loop's
/// average over about the last second (0 when no call has media). Near 20,000 a loop no longer
/// keeps up and frames are skipped; admission refuses new calls above `limits.max_media_lag_ms`.
pub static MEDIA_LOOP_LAG_US: Gauge = Gauge::new();
/// Calls admitted and not yet over (from the INVITE's admission to the dialog's end).
pub static CALLS_IN_PROGRESS: Gauge = Gauge::new();
/// Calls answered: 200 OK sent to a caller's INVITE.
pub static CALLS_ANSWERED: Counter = Counter::new();

/// Tickets written to the store.
pub static TICKETS_CREATED: Counter = Counter::new();

/// A distribution of durations (a Prometheus `histogram`): one atomic count per bucket, the
/// sum in microseconds and the count, so observing is a few relaxed `fetch_add`s and no lock.
#[derive(Debug)]
pub struct Histogram<const N: usize> {
    /// Upper bounds of the buckets, in seconds, increasing; `+Inf` is implied.
    bounds: [f64; N],
    /// Observations per bucket (not cumulative; the exposition sums them), the last for +Inf.
    buckets: [AtomicU64; N],
    over: AtomicU64,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    pub const fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; N],
            over: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: Duration) {
        let secs = value.as_secs_f64();
        match self.bounds.iter().position(|&b| secs <= b) {
            Some(i) => self.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Writes `# HELP`, `# TYPE histogram`, the cumulative `_bucket` lines, `_sum` and `_count`.
    pub fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        // The count written is the +Inf bucket's, so a scrape racing an observation is
        // still self-consistent (`_count` equals the last bucket).
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// From the INVITE's arrival to the 200 OK being sent: ticket creation, media set-up and the
/// configured ring time (`sip.ring_ms`), i.e. how long a caller waits for the helpdesk.
pub static INVITE_TO_ANSWER: Histogram<10> =
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]);

/// An RTP packet counts as late when it leaves more than this after its 20 ms slot: a phone's
/// jitter buffer (40–100 ms) still plays it, but lateness this size, often, means the sender
/// task is starved (too many calls for the CPU, or a blocking call on the runtime).
pub const RTP_LATE_AFTER: Duration = Duration::from_millis(10);
/// RTP packets sent more than [`RTP_LATE_AFTER`] after their slot.
pub static RTP_PACKETS_LATE: Counter = Counter::new();
/// RTP frames never sent because the sender woke more than 100 ms late (the stream skipped
/// forward; see `media::rtp_session::pacer`).
pub static RTP_FRAMES_SKIPPED: Counter = Counter::new();

/// From a transcription job's queueing to its transcript being stored (waiting + work).
pub static TRANSCRIPTION_JOB_LATENCY: Histogram<10> =
    Histogram::new([0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0]);

/// Recordings not started because the recordings disk had less free space than is kept free.
pub static RECORDINGS_NOT_STARTED_DISK_FULL: Counter = Counter::new();
/// Recordings cut short by the disk filling up (the writer's ENOSPC).
pub static RECORDINGS_CUT_DISK_FULL: Counter = Counter::new();
/// 1 while the recordings disk is known full (from the first refused or cut recording until
/// one starts with room again).
pub static RECORDINGS_DISK_FULL: Gauge = Gauge::new();

/// Ticket writes of calls kept in memory while the database is unreachable, not yet stored.
pub static TICKET_WRITES_WAITING: Gauge = Gauge::new();
/// Attempts to store a kept ticket write that found the database still unreachable.
pub static TICKET_WRITE_RETRIES: Counter = Counter::new();
/// Kept ticket writes the database refused when it came back (not retried; logged).
pub static TICKET_WRITES_FAILED: Counter = Counter::new();
/// Kept ticket writes the journal on disk could not take (in memory only: a crash loses them).
pub static KEPT_WRITES_NOT_JOURNALLED: Counter = Counter::new();
/// 1 while the helpdesk knows its database to be unreachable (new calls get 503).
pub static DATABASE_DOWN: Gauge = Gauge::new();

/// Failed database operations, by the store's name for the operation ("adding a call event").
/// Behind a lock: errors are rare, and the names are a fixed set of literals.
static STORE_ERRORS: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

/// Counts one failed store operation.
pub fn count_store_error(operation: &'static str) {
    *STORE_ERRORS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(operation)
        .or_insert(0) += 1;
}

/// Failed store operations so far, by operation.
pub fn store_errors() -> Vec<(&'static str, u64)> {
    let errors = STORE_ERRORS.lock().unwrap_or_else(|p| p.into_inner());
    errors.iter().map(|(k, v)| (*k, *v)).collect()
}

/// HELP text escapes only backslash and newline (the format's rule).
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value escapes backslash, double quote and newline (the format's rule).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// When the process started counting (the first use of this module, or [`mark_start`]).
static STARTED: LazyLock<(Instant, SystemTime)> =
    LazyLock::new(|| (Instant::now(), SystemTime::now()));

/// Fixes the start time now; called once at server start so uptime is not measured from the
/// first scrape.
pub fn mark_start() {
    LazyLock::force(&STARTED);
}

/// Seconds since [`mark_start`].
pub fn uptime_secs() -> f64 {
    STARTED.0.elapsed().as_secs_f64()
}

/// The start as Unix time in seconds (`process_start_time_seconds`).
pub fn start_time_unix_secs() -> f64 {
    STARTED
        .1
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The kind of a metric family, as the `# TYPE` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// Writes one metric family in the Prometheus text exposition format (version 0.0.4): `# HELP`,
/// `# TYPE`, then one sample per label set. `samples` pairs a label set (`state="queued"`,
/// or empty) with its value.
pub fn write_family(out: &mut String, name: &str, help: &str, kind: Kind, samples: &[(&str, f64)]) {
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
    };
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Every counter of this module, in the text format.
pub fn write_counters(out: &mut String) {
    use Kind::{Counter as C, Gauge as G};
    let n = |c: &Counter| c.get() as f64;
    write_family(
        out,
        "hotline_uptime_seconds",
        "Seconds since Hotline started.",
        G,
        &[("", (uptime_secs() * 1000.0).round() / 1000.0)],
    );
    write_family(
        out,
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        G,
        &[("", start_time_unix_secs().floor())],
    );
    write_family(
        out,
        "hotline_sip_messages_received_total",
        "SIP messages received (UDP datagrams and messages framed from TCP).",
        C,
        &[("", n(&SIP_MESSAGES_RECEIVED))],
    );
    write_family(
        out,
        "hotline_sip_parse_errors_total",
        "SIP messages that could not be parsed.",
        C,
        &[("", n(&SIP_PARSE_ERRORS))],
    );
    write_family(
        out,
        "hotline_sip_requests_refused_total",
        "SIP messages refused before any transaction, by reason.",
        C,
        &[
            (r#"reason="invalid""#, n(&SIP_REQUESTS_INVALID)),
            (r#"reason="scanner""#, n(&SIP_SCANNER_REQUESTS)),
            (r#"reason="oversized""#, n(&SIP_OVERSIZED_MESSAGES)),
        ],
    );
    write_family(
        out,
        "hotline_sip_tcp_connections_refused_total",
        "SIP TCP connections closed at accept (connection limits).",
        C,
        &[("", n(&SIP_TCP_CONNECTIONS_REFUSED))],
    );
    write_family(
        out,
        "hotline_sip_tls_handshakes_failed_total",
        "SIP over TLS connections closed because the handshake failed or took too long.",
        C,
        &[("", n(&SIP_TLS_HANDSHAKES_FAILED))],
    );
    write_family(
        out,
        "hotline_sip_auth_failures_total",
        "SIP digest authentications that failed (phones' REGISTER).",
        C,
        &[("", n(&SIP_AUTH_FAILURES))],
    );
    write_family(
        out,
        "hotline_calls_answered_total",
        "Calls answered (200 OK sent to a caller).",
        C,
        &[("", n(&CALLS_ANSWERED))],
    );
    write_family(
        out,
        "hotline_calls_refused_total",
        "New calls refused with 503, by reason.",
        C,
        &[
            (r#"reason="server_full""#, n(&CALLS_REFUSED_SERVER_FULL)),
            (r#"reason="source_busy""#, n(&CALLS_REFUSED_SOURCE_BUSY)),
            (r#"reason="source_rate""#, n(&CALLS_REFUSED_SOURCE_RATE)),
            (r#"reason="overloaded""#, n(&CALLS_REFUSED_OVERLOADED)),
            (r#"reason="shutting_down""#, n(&CALLS_REFUSED_SHUTTING_DOWN)),
        ],
    );
    write_family(
        out,
        "hotline_calls_in_progress",
        "Calls admitted and not over yet (ringing, in the menu, recording, bridged).",
        G,
        &[("", CALLS_IN_PROGRESS.get() as f64)],
    );
    write_family(
        out,
        "hotline_media_loop_lag_seconds",
        "How late the media loops finish their 20 ms rounds (slowest loop, ~1 s average).",
        G,
        &[("", MEDIA_LOOP_LAG_US.get() as f64 / 1e6)],
    );
    write_family(
        out,
        "hotline_tickets_created_total",
        "Tickets created since start.",
        C,
        &[("", n(&TICKETS_CREATED))],
    );
    INVITE_TO_ANSWER.write(
        out,
        "hotline_invite_to_answer_seconds",
        "From a caller's INVITE to the 200 OK (ticket, media set-up, ring time).",
    );
    write_family(
        out,
        "hotline_rtp_packets_late_total",
        "RTP packets sent more than 10 ms after their 20 ms slot.",
        C,
        &[("", n(&RTP_PACKETS_LATE))],
    );
    write_family(
        out,
        "hotline_rtp_frames_skipped_total",
        "RTP frames not sent because the sender woke more than 100 ms late.",
        C,
        &[("", n(&RTP_FRAMES_SKIPPED))],
    );
    TRANSCRIPTION_JOB_LATENCY.write(
        out,
        "hotline_transcription_job_seconds",
        "From a transcription job's queueing to its stored transcript.",
    );
    write_family(
        out,
        "hotline_recordings_disk_full_total",
        "Recordings not started, or cut short, because the recordings disk was full.",
        C,
        &[
            (
                r#"stage="not_started""#,
                n(&RECORDINGS_NOT_STARTED_DISK_FULL),
            ),
            (r#"stage="cut_short""#, n(&RECORDINGS_CUT_DISK_FULL)),
        ],
    );
    write_family(
        out,
        "hotline_recordings_disk_full",
        "1 while the recordings disk is full (calls go on without recording).",
        G,
        &[("", RECORDINGS_DISK_FULL.get() as f64)],
    );
    write_family(
        out,
        "hotline_database_down",
        "1 while the database is known unreachable (new calls are refused with 503).",
        G,
        &[("", DATABASE_DOWN.get() as f64)],
    );
    write_family(
        out,
        "hotline_ticket_writes_waiting",
        "Ticket writes of calls kept in memory until the database returns.",
        G,
        &[("", TICKET_WRITES_WAITING.get() as f64)],
    );
    write_family(
        out,
        "hotline_ticket_write_retries_total",
        "Retries of kept ticket writes that found the database still unreachable.",
        C,
        &[("", n(&TICKET_WRITE_RETRIES))],
    );
    write_family(
        out,
        "hotline_ticket_writes_failed_total",
        "Kept ticket writes the database refused once back (logged, not retried).",
        C,
        &[("", n(&TICKET_WRITES_FAILED))],
    );
    write_family(
        out,
        "hotline_kept_writes_not_journalled_total",
        "Kept ticket writes the journal on disk could not take (a crash would lose them).",
        C,
        &[("", n(&KEPT_WRITES_NOT_JOURNALLED))],
    );
    let errors: Vec<(String, f64)> = store_errors()
        .into_iter()
        .map(|(op, n)| (format!("operation=\"{}\"", escape_label(op)), n as f64))
        .collect();
    let errors: Vec<(&str, f64)> = errors.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    write_family(
        out,
        "hotline_store_errors_total",
        "Failed database operations, by operation.",
        C,
        &errors,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_help_type_then_one_line_per_label_set() {
        let mut out = String::new();
        write_family(
            &mut out,
            "x_total",
            "Things.\nMore \\ text.",
            Kind::Counter,
            &[("", 3.0), (r#"state="a""#, 0.5)],
        );
        assert_eq!(
            out,
            "# HELP x_total Things.\\nMore \\\\ text.\n# TYPE x_total counter\nx_total 3\nx_total{state=\"a\"} 0.5\n"
        );
    }

    #[test]
    fn a_histogram_writes_cumulative_buckets_sum_and_count() {
        let h = Histogram::new([0.1, 1.0]);
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_millis(100)); // on a bound: counted in it (`le`)
        h.observe(Duration::from_millis(500));
        h.observe(Duration::from_secs(3));
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "X.");
        assert_eq!(
            out,
            "# HELP x_seconds X.\n# TYPE x_seconds histogram\n\
             x_seconds_bucket{le=\"0.1\"} 2\nx_seconds_bucket{le=\"1\"} 3\n\
             x_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 3.65\nx_seconds_count 4\n"
        );
    }

    #[test]
    fn store_errors_are_counted_by_operation_with_escaped_labels() {
        count_store_error("reading \"x\"");
        count_store_error("reading \"x\"");
        let mut out = String::new();
        write_counters(&mut out);
        assert!(
            out.contains("hotline_store_errors_total{operation=\"reading \\\"x\\\"\"} 2\n"),
            "{out}"
        );
    }

    #[test]
    fn counters_render_every_family_once_with_a_type() {
        let mut out = String::new();
        write_counters(&mut out);
        for name in [
            "hotline_calls_answered_total",
            "hotline_calls_refused_total",
            "hotline_calls_in_progress",
            "hotline_media_loop_lag_seconds",
            "hotline_sip_messages_received_total",
            "hotline_tickets_created_total",
            "hotline_uptime_seconds",
        ] {
            assert_eq!(
                out.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name} in\n{out}"
            );
        }
        // Every sample line is `name[{labels}] value` with a number for value.
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
