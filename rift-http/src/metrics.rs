//! `GET /metrics`: Prometheus text exposition (format 0.0.4), written by hand. Off unless
//! [`HttpConfig::metrics`](crate::HttpConfig) is set; then it answers gateway sessions, messages
//! sent, gateway delivery latency, router drops, password-hashing queue, fan-out counters and the
//! permission view's size, hits, misses and invalidations.
//! Off, it is the API's JSON 404.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// How a message reached this process.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via {
    Rest,
    Gateway,
}

/// Upper bounds (seconds) of the delivery-latency buckets.
const DELIVERY_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Counters kept by the HTTP layer; the rest is read from the service when scraped.
#[derive(Default)]
pub(crate) struct Metrics {
    sent_rest: AtomicU64,
    sent_gateway: AtomicU64,
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    delivery_buckets: [AtomicU64; DELIVERY_BUCKETS.len() + 1],
    delivery_count: AtomicU64,
    delivery_sum_ns: AtomicU64,
}

impl Metrics {
    /// A new message was stored through this process.
    pub(crate) fn message_sent(&self, via: Via) {
        match via {
            Via::Rest => &self.sent_rest,
            Via::Gateway => &self.sent_gateway,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// A gateway frame was written to its socket `latency` after its session's pump queued it.
    pub(crate) fn delivered(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let slot =
            DELIVERY_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(DELIVERY_BUCKETS.len());
        self.delivery_buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.delivery_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.delivery_sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// GET /metrics
pub(crate) async fn serve(State(state): State<AppState>) -> Response {
    if !state.config.metrics {
        return ApiError::unknown_route().into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&state)).into_response()
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// The exposition text.
fn render(state: &AppState) -> String {
    let m = &state.metrics;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
    let mut out = String::new();
    metric(
        &mut out,
        "rift_gateway_sessions",
        "gauge",
        "Gateway sessions of this process (attached, or detached and resumable).",
        &[("", state.gateway.session_count() as f64)],
    );
    metric(
        &mut out,
        "rift_messages_sent_total",
        "counter",
        "New messages stored through this process, by how they arrived.",
        &[(r#"{via="rest"}"#, load(&m.sent_rest)), (r#"{via="gateway"}"#, load(&m.sent_gateway))],
    );
    let name = "rift_gateway_delivery_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} From a session's pump queueing an event frame to the frame written to its socket."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, bound) in DELIVERY_BUCKETS.iter().enumerate() {
        cumulative += m.delivery_buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    cumulative += m.delivery_buckets[DELIVERY_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", m.delivery_sum_ns.load(Ordering::Relaxed) as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {}", m.delivery_count.load(Ordering::Relaxed));

    let router = state.rift.router().stats();
    metric(
        &mut out,
        "rift_router_deliveries_total",
        "counter",
        "Events queued for a subscriber by the in-process router.",
        &[("", router.queued as f64)],
    );
    metric(
        &mut out,
        "rift_router_dropped_total",
        "counter",
        "Events not queued because the subscriber's queue was full.",
        &[("", router.dropped as f64)],
    );
    metric(
        &mut out,
        "rift_router_lagged_subscribers_total",
        "counter",
        "Subscribers (gateway sessions) that fell behind and were ended.",
        &[("", router.lagged as f64)],
    );

    let hashing = state.rift.hashing_stats();
    metric(
        &mut out,
        "rift_password_hashing_queue",
        "gauge",
        "Password hashes waiting for a hashing thread.",
        &[("", hashing.queued as f64)],
    );
    metric(
        &mut out,
        "rift_password_hashing_running",
        "gauge",
        "Password hashes running now.",
        &[("", hashing.running as f64)],
    );
    metric(
        &mut out,
        "rift_password_hashing_workers",
        "gauge",
        "Hashing threads (at most this many hashes at once).",
        &[("", hashing.workers as f64)],
    );
    metric(
        &mut out,
        "rift_password_hashes_total",
        "counter",
        "Password hashes finished.",
        &[("", hashing.completed as f64)],
    );

    let fanout = state.rift.fanout_stats();
    let counters = [
        ("queued", "Events taken into the outbox for other nodes.", fanout.queued),
        ("dropped", "Events dropped for other nodes (outbox full or shut).", fanout.dropped),
        ("sent", "Events handed to the broker.", fanout.sent),
        ("received", "Events from other nodes delivered to the local router.", fanout.received),
        ("failed", "Events lost to broker or encoding errors.", fanout.failed),
        ("reconnects", "Times the broker connection was re-established.", fanout.reconnects),
    ];
    for (what, help, value) in counters {
        metric(&mut out, &format!("rift_fanout_{what}_total"), "counter", help, &[("", value as f64)]);
    }

    let usage = state.rift.store_usage();
    let per_pool = |value: fn(&rift::store::PoolUsage) -> u32| {
        usage
            .pools
            .iter()
            .map(|p| (format!("{{pool=\"{}\"}}", p.name), f64::from(value(p))))
            .collect::<Vec<_>>()
    };
    let pools = [
        ("open", "Database connections open, per pool.", per_pool(|p| p.open)),
        ("idle", "Open database connections waiting to be lent, per pool.", per_pool(|p| p.idle)),
        ("max", "The most database connections each pool opens.", per_pool(|p| p.max)),
    ];
    for (what, help, samples) in pools {
        let samples: Vec<(&str, f64)> = samples.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(&mut out, &format!("rift_db_pool_connections_{what}"), "gauge", help, &samples);
    }
    if let Some((transactions, messages)) = usage.group_commit {
        let batches = [
            ("transactions", "SQLite group-commit transactions that stored messages.", transactions),
            ("messages", "Messages stored by SQLite group-commit transactions.", messages),
        ];
        for (what, help, value) in batches {
            metric(
                &mut out,
                &format!("rift_db_group_commit_{what}_total"),
                "counter",
                help,
                &[("", value as f64)],
            );
        }
    }

    let view = state.rift.access_cache_stats();
    let gauges = [
        ("servers", "Servers held in the permission view.", view.servers),
        ("members", "Member entries held in the permission view.", view.members),
        ("bytes", "Estimated bytes held by the permission view.", view.estimated_bytes),
    ];
    for (what, help, value) in gauges {
        metric(&mut out, &format!("rift_permission_view_{what}"), "gauge", help, &[("", value as f64)]);
    }
    let counters = [
        ("hits", "Permission checks answered from the view.", view.hits),
        ("misses", "Permission checks that read the database.", view.misses),
        ("invalidations", "Servers (or, after lost events, all) forgotten by the view.", view.invalidations),
    ];
    for (what, help, value) in counters {
        metric(
            &mut out,
            &format!("rift_permission_view_{what}_total"),
            "counter",
            help,
            &[("", value as f64)],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_buckets_take_the_first_bound_at_or_above() {
        let m = Metrics::default();
        m.delivered(Duration::from_micros(100));
        m.delivered(Duration::from_micros(101));
        m.delivered(Duration::from_secs(10));
        assert_eq!(m.delivery_buckets[0].load(Ordering::Relaxed), 1);
        assert_eq!(m.delivery_buckets[1].load(Ordering::Relaxed), 1);
        assert_eq!(m.delivery_buckets[DELIVERY_BUCKETS.len()].load(Ordering::Relaxed), 1);
        assert_eq!(m.delivery_count.load(Ordering::Relaxed), 3);
    }
}
