//! Metrics and health endpoints of the long-running commands (`reader`,
//! `sink`, `run`): one HTTP server with
//!
//! - `GET /metrics`: Prometheus text format,
//! - `GET /healthz`: 200 while the process runs (liveness),
//! - `GET /readyz`: 200 once the command called [`set_ready`]`(true)`, 503
//!   before and after (readiness: started, checked, streaming).
//!
//! The metric names live here, as constants with their descriptions, so the
//! reader and sink code record them by constant and the dashboard
//! (`deploy/grafana/`) and the docs (`docs/operations.md`) have one list to
//! agree with. Recording works without [`install`]: the `metrics` macros are
//! no-ops until a recorder is installed, so commands and tests that serve no
//! endpoint pay nothing.
//!
//! Why an axum server rather than the exporter's own HTTP listener: that
//! listener answers every path with the metrics, which leaves no room for
//! health and readiness probes.

// Until the reader and the sinks call `start`, `set_ready` and the macros
// with these names, only the tests reach this module.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;

/// Environment variable that overrides `[metrics] listen` (the container
/// deployment sets it per service, since reader and sink share one file).
pub const LISTEN_ENV: &str = "CDC_METRICS_LISTEN";

/// `[metrics]`: where the metrics and health endpoints listen.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the HTTP server with `/metrics`, `/healthz` and `/readyz`,
    /// e.g. `"127.0.0.1:9464"` (`"0.0.0.0:9464"` to be scraped from other
    /// hosts). Not set: no server. The environment variable
    /// `CDC_METRICS_LISTEN` overrides it; set it to an empty string to turn the
    /// server off.
    #[serde(default)]
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// The address to listen on: `CDC_METRICS_LISTEN` if set, else `listen`.
    /// `None` when neither asks for a server.
    pub fn address(&self) -> Result<Option<SocketAddr>> {
        let (value, origin) = match std::env::var(LISTEN_ENV) {
            Ok(v) => (Some(v), LISTEN_ENV),
            Err(_) => (self.listen.clone(), "metrics.listen"),
        };
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .with_context(|| format!("{origin} = `{v}` is not an address like 127.0.0.1:9464")),
        }
    }
}

// --- metric names ----------------------------------------------------------
// Labels are given in the doc comments; keep their sets small (a table, a
// sink, a partition, an HTTP status): every combination is a time series.

/// Counter `{table}`: row changes decoded from the binlog.
pub const READER_EVENTS: &str = "cdc_reader_events_total";
/// Counter `{table}`: row changes acknowledged by the broker.
pub const READER_PUBLISHED: &str = "cdc_reader_published_total";
/// Gauge `{file}`: byte offset of the last checkpointed position in `file`.
pub const READER_BINLOG_POSITION: &str = "cdc_reader_binlog_position";
/// Gauge: now − commit time of the last transaction read, in seconds.
pub const READER_SECONDS_BEHIND: &str = "cdc_reader_seconds_behind";
/// Gauge: messages published but not yet acknowledged by the broker.
pub const READER_IN_FLIGHT: &str = "cdc_reader_in_flight";
/// Counter `{sink}`: windows written.
pub const SINK_BATCHES: &str = "cdc_sink_batches_total";
/// Histogram `{sink}`: records per written window.
pub const SINK_BATCH_SIZE: &str = "cdc_sink_batch_size";
/// Counter `{sink}`: change events read from the topic.
pub const SINK_EVENTS_IN: &str = "cdc_sink_events_in_total";
/// Counter `{sink}`: records written to the target after coalescing.
pub const SINK_RECORDS_OUT: &str = "cdc_sink_records_out_total";
/// Counter `{status}`: HubSpot API responses by HTTP status.
pub const HUBSPOT_REQUESTS: &str = "cdc_hubspot_requests_total";
/// Counter: HubSpot 429 answers.
pub const HUBSPOT_RATE_LIMITED: &str = "cdc_hubspot_rate_limited_total";
/// Counter: HubSpot requests sent again by the client after a transient
/// failure (5xx, 408, 423, 477, timeout, connection error).
pub const HUBSPOT_RETRIES: &str = "cdc_hubspot_retries_total";
/// Counter `{sink}`: write attempts retried after a retriable failure.
pub const SINK_RETRIES: &str = "cdc_sink_retries_total";
/// Counter `{sink}`: records sent to the dead-letter topic.
pub const SINK_DEAD_LETTERS: &str = "cdc_sink_dead_letters_total";
/// Histogram `{sink}`: source commit time → target write acknowledged, seconds.
pub const SINK_END_TO_END_LATENCY: &str = "cdc_sink_end_to_end_latency_seconds";
/// Gauge `{sink,partition}`: messages between the sink's position and the end
/// of the partition.
pub const SINK_LAG_MESSAGES: &str = "cdc_sink_lag_messages";

/// Latency buckets, seconds: 10 ms (a quiet MySQL sink) up to a minute (a
/// HubSpot sink waiting out rate limits).
const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];
/// Batch size buckets, records: HubSpot batches hold up to 100, MySQL
/// windows up to `window.max_entities`.
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// Registers the descriptions (the `# HELP` lines) with the installed recorder.
fn describe() {
    describe_counter!(
        READER_EVENTS,
        Unit::Count,
        "Row changes decoded from the binlog, by table."
    );
    describe_counter!(
        READER_PUBLISHED,
        Unit::Count,
        "Row changes acknowledged by the broker, by table."
    );
    describe_gauge!(
        READER_BINLOG_POSITION,
        Unit::Bytes,
        "Byte offset of the last checkpointed binlog position, by file."
    );
    describe_gauge!(
        READER_SECONDS_BEHIND,
        Unit::Seconds,
        "Now minus the commit time of the last transaction read."
    );
    describe_gauge!(
        READER_IN_FLIGHT,
        Unit::Count,
        "Messages published and not yet acknowledged by the broker."
    );
    describe_counter!(
        SINK_BATCHES,
        Unit::Count,
        "Windows written to the target, by sink."
    );
    describe_histogram!(
        SINK_BATCH_SIZE,
        Unit::Count,
        "Records per written window, by sink."
    );
    describe_counter!(
        SINK_EVENTS_IN,
        Unit::Count,
        "Change events read from the topic, by sink."
    );
    describe_counter!(
        SINK_RECORDS_OUT,
        Unit::Count,
        "Records written to the target after coalescing, by sink."
    );
    describe_counter!(
        HUBSPOT_REQUESTS,
        Unit::Count,
        "HubSpot API responses, by HTTP status."
    );
    describe_counter!(
        HUBSPOT_RATE_LIMITED,
        Unit::Count,
        "HubSpot 429 (rate limited) responses."
    );
    describe_counter!(
        HUBSPOT_RETRIES,
        Unit::Count,
        "HubSpot requests sent again after a transient failure."
    );
    describe_counter!(
        SINK_RETRIES,
        Unit::Count,
        "Write attempts retried after a retriable failure, by sink."
    );
    describe_counter!(
        SINK_DEAD_LETTERS,
        Unit::Count,
        "Records sent to the dead-letter topic, by sink."
    );
    describe_histogram!(
        SINK_END_TO_END_LATENCY,
        Unit::Seconds,
        "Source commit to target acknowledgement, by sink."
    );
    describe_gauge!(
        SINK_LAG_MESSAGES,
        Unit::Count,
        "Messages between the sink's position and the end of the partition."
    );
}

// --- the server ------------------------------------------------------------

/// The process-wide recorder: installed by the first [`install`], shared by
/// any later one (a recorder can be installed only once per process).
static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
static READY: AtomicBool = AtomicBool::new(false);

/// Marks the process ready (`/readyz` answers 200) or not (503): call it with
/// `true` once start-up checks passed and the stream runs, and with `false`
/// when shutting down.
pub fn set_ready(ready: bool) {
    READY.store(ready, Ordering::Relaxed);
}

/// Starts the metrics and health server on `listen`, in the background of
/// the current Tokio runtime (call it from inside one). Fails when the
/// address cannot be bound or no runtime runs.
pub fn install(listen: SocketAddr) -> Result<()> {
    tokio::runtime::Handle::try_current()
        .context("the metrics server needs a running Tokio runtime")?;
    // Bound here, synchronously, so a taken port is an error of the command,
    // not a log line of a background task.
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen} for metrics"))?;
    listener.set_nonblocking(true)?;
    let handle = recorder()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tokio::spawn(serve(listener, handle));
    tracing::info!(%listen, "metrics on /metrics, health on /healthz and /readyz");
    Ok(())
}

/// Starts the server when `config` (or `CDC_METRICS_LISTEN`) asks for one.
pub fn start(config: &MetricsConfig) -> Result<()> {
    match config.address()? {
        Some(addr) => install(addr),
        None => Ok(()),
    }
}

/// The process-wide recorder, installed on first use.
fn recorder() -> Result<PrometheusHandle> {
    let mut slot = HANDLE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = slot.as_ref() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(SINK_END_TO_END_LATENCY.into()),
            LATENCY_BUCKETS,
        )?
        .set_buckets_for_metric(Matcher::Full(SINK_BATCH_SIZE.into()), BATCH_SIZE_BUCKETS)?
        .install_recorder()
        .context("installing the Prometheus recorder")?;
    describe();
    // Histograms keep raw samples until upkeep folds them into buckets.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    *slot = Some(handle.clone());
    Ok(handle)
}

async fn serve(listener: tokio::net::TcpListener, handle: PrometheusHandle) {
    let app = Router::new()
        .route("/metrics", get(move || async move { handle.render() }))
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}

async fn readyz() -> (StatusCode, &'static str) {
    if READY.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out[9..12].parse().unwrap();
        (status, out)
    }

    fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_metrics_health_and_readiness() {
        let addr = free_addr();
        install(addr).unwrap();
        metrics::counter!(SINK_BATCHES, "sink" => "crm").increment(3);
        metrics::histogram!(SINK_END_TO_END_LATENCY, "sink" => "crm").record(0.2);
        let (ok, addr2) = tokio::task::spawn_blocking(move || {
            let health = get(addr, "/healthz").0;
            let not_ready = get(addr, "/readyz").0;
            set_ready(true);
            let ready = get(addr, "/readyz").0;
            set_ready(false);
            ((health, not_ready, ready), addr)
        })
        .await
        .unwrap();
        assert_eq!(ok, (200, 503, 200));
        // Histograms appear as buckets after upkeep.
        recorder().unwrap().run_upkeep();
        let (status, body) = tokio::task::spawn_blocking(move || get(addr2, "/metrics"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert!(
            body.contains("cdc_sink_batches_total{sink=\"crm\"} 3"),
            "{body}"
        );
        assert!(body.contains("# HELP cdc_sink_batches_total"), "{body}");
        assert!(
            body.contains("cdc_sink_end_to_end_latency_seconds_bucket{sink=\"crm\",le=\"0.25\"} 1"),
            "{body}"
        );
        // A second server (another port) shares the one recorder.
        install(free_addr()).unwrap();
        // The taken port is an error of the caller.
        assert!(install(addr2).is_err());
    }

    #[test]
    fn listen_address_from_config_and_environment() {
        let cfg: MetricsConfig = toml::from_str("listen = \"127.0.0.1:9464\"").unwrap();
        // The variable is process-wide: this is the only test touching it.
        std::env::remove_var(LISTEN_ENV);
        assert_eq!(
            cfg.address().unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        std::env::set_var(LISTEN_ENV, "0.0.0.0:9465");
        assert_eq!(
            cfg.address().unwrap(),
            Some("0.0.0.0:9465".parse().unwrap())
        );
        std::env::set_var(LISTEN_ENV, "");
        assert_eq!(cfg.address().unwrap(), None);
        std::env::set_var(LISTEN_ENV, "nonsense");
        let err = format!("{:#}", cfg.address().unwrap_err());
        assert!(err.contains(LISTEN_ENV), "{err}");
        std::env::remove_var(LISTEN_ENV);
        assert_eq!(MetricsConfig::default().address().unwrap(), None);
        assert!(toml::from_str::<MetricsConfig>("lisen = \"x\"").is_err());
    }
}
