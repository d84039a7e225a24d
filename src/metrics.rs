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

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
/// New calls refused with 503 because the server is shutting down.
pub static CALLS_REFUSED_SHUTTING_DOWN: Counter = Counter::new();
/// Calls admitted and not yet over (from the INVITE's admission to the dialog's end).
pub static CALLS_IN_PROGRESS: Gauge = Gauge::new();
/// Calls answered: 200 OK sent to a caller's INVITE.
pub static CALLS_ANSWERED: Counter = Counter::new();

/// Tickets written to the store.
pub static TICKETS_CREATED: Counter = Counter::new();

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
    // HELP text escapes only backslash and newline (the format's rule).
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
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
        "hotline_tickets_created_total",
        "Tickets created since start.",
        C,
        &[("", n(&TICKETS_CREATED))],
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
    fn counters_render_every_family_once_with_a_type() {
        let mut out = String::new();
        write_counters(&mut out);
        for name in [
            "hotline_calls_answered_total",
            "hotline_calls_refused_total",
            "hotline_calls_in_progress",
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
