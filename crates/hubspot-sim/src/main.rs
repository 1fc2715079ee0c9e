//! The `hubspot-sim` binary: flags and environment → [`SimConfig`], bind,
//! announce, serve until SIGINT/SIGTERM.

use anyhow::Context;
use clap::Parser;
use hubspot_sim::{FaultSettings, SimConfig};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// A HubSpot CRM v3 contacts API simulator for tests and demos.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "HUBSPOT_SIM_LISTEN", default_value = "127.0.0.1:8089")]
    listen: String,
    /// Accepted bearer token(s), comma-separated; each is rate-limited separately.
    #[arg(long = "token", env = "HUBSPOT_SIM_TOKEN", value_delimiter = ',', default_value = hubspot_sim::config::DEFAULT_TOKEN)]
    tokens: Vec<String>,
    /// Requests allowed per token per rolling window.
    #[arg(long, env = "HUBSPOT_SIM_RATE_LIMIT", default_value_t = 100)]
    rate_limit: u32,
    /// Length of the rolling rate-limit window, in milliseconds.
    #[arg(long, env = "HUBSPOT_SIM_RATE_WINDOW_MS", default_value_t = 10_000)]
    rate_window_ms: u64,
    /// Requests allowed per token per UTC day.
    #[arg(long, env = "HUBSPOT_SIM_DAILY_LIMIT", default_value_t = 250_000)]
    daily_limit: u64,
    /// Most inputs per batch request.
    #[arg(long, env = "HUBSPOT_SIM_MAX_BATCH_INPUTS", default_value_t = 100)]
    max_batch_inputs: usize,
    /// Share of API requests answered with --error-status (0.0–1.0).
    #[arg(long, env = "HUBSPOT_SIM_ERROR_RATE", default_value_t = 0.0)]
    error_rate: f64,
    /// Status of injected errors (a 5xx).
    #[arg(long, env = "HUBSPOT_SIM_ERROR_STATUS", default_value_t = 500)]
    error_status: u16,
    /// Share of API requests answered 423 Locked.
    #[arg(long, env = "HUBSPOT_SIM_LOCKED_RATE", default_value_t = 0.0)]
    locked_rate: f64,
    /// Share of API requests answered 477 with Retry-After.
    #[arg(long, env = "HUBSPOT_SIM_STATUS_477_RATE", default_value_t = 0.0)]
    status_477_rate: f64,
    /// Retry-After seconds sent with 477.
    #[arg(long, env = "HUBSPOT_SIM_RETRY_AFTER_S", default_value_t = 1)]
    retry_after_s: u64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, env = "HUBSPOT_SIM_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Seed of the fault dice (same seed + same requests = same faults).
    #[arg(long, env = "HUBSPOT_SIM_SEED", default_value_t = 0x5eed)]
    seed: u64,
    /// JSON file to load state from at start and save it to on shutdown.
    #[arg(long, env = "HUBSPOT_SIM_STATE_FILE")]
    state_file: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> anyhow::Result<SimConfig> {
        let faults = FaultSettings {
            error_rate: self.error_rate,
            error_status: self.error_status,
            locked_rate: self.locked_rate,
            status_477_rate: self.status_477_rate,
            retry_after_s: self.retry_after_s,
            latency_ms: self.latency_ms,
            fail_next: 0,
        };
        faults.check().map_err(anyhow::Error::msg)?;
        anyhow::ensure!(!self.tokens.is_empty(), "at least one --token is required");
        anyhow::ensure!(self.rate_limit > 0, "--rate-limit must be positive");
        anyhow::ensure!(self.rate_window_ms > 0, "--rate-window-ms must be positive");
        Ok(SimConfig {
            tokens: self.tokens,
            rate_limit: self.rate_limit,
            rate_window: Duration::from_millis(self.rate_window_ms),
            daily_limit: self.daily_limit,
            max_batch_inputs: self.max_batch_inputs,
            faults,
            seed: self.seed,
            state_file: self.state_file,
        })
    }
}

/// Resolves on SIGINT or SIGTERM (containers stop with SIGTERM).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listen = args.listen.clone();
    let config = args.into_config()?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // One line on stdout, once bound, for scripts that wait for readiness.
    println!("hubspot-sim listening on {addr}");
    std::io::stdout().flush()?;
    hubspot_sim::serve(listener, config, shutdown_signal()).await
}
