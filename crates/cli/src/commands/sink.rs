//! `cdc-streamer sink`: runs every enabled sink of the config, each in its
//! own task and consumer group, so one sink's outage never holds back another.

use std::path::Path;

use anyhow::{bail, Result};
use tracing::error;

use crate::config::AppConfig;
use crate::shutdown::Shutdown;
use crate::sink::run_sink;

pub async fn run(path: &Path, only: Option<Vec<String>>) -> Result<()> {
    let config = AppConfig::load(path)?;
    super::logging::init(&config.log);
    crate::metrics::start(&config.metrics)?;
    run_with(&config, only, Shutdown::install()).await
}

pub async fn run_with(
    config: &AppConfig,
    only: Option<Vec<String>>,
    shutdown: Shutdown,
) -> Result<()> {
    let names: Vec<String> = config
        .sinks
        .iter()
        .filter(|(n, s)| s.enabled && only.as_ref().is_none_or(|o| o.contains(n)))
        .map(|(n, _)| n.clone())
        .collect();
    if names.is_empty() {
        bail!("no sink to run: add a [sinks.<name>] section (see docs/configuration.md)");
    }
    let mut tasks = Vec::new();
    for name in names {
        let sink = config.sinks[&name].clone();
        let kafka = config.kafka.clone();
        let source = config.source.clone();
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let r = run_sink(&name, &sink, &source, &kafka, shutdown.clone()).await;
            if r.is_err() {
                // A sink that cannot go on (bad token, missing table) stops
                // the process so it is noticed; retriable outages never get
                // here, so one target's outage never stops another's sink.
                shutdown.trigger();
            }
            (name, r)
        }));
    }
    let mut failed = None;
    for t in tasks {
        match t.await {
            Ok((name, Err(e))) => {
                error!(sink = %name, "{e:#}");
                failed.get_or_insert(e);
            }
            Err(e) => {
                failed.get_or_insert(e.into());
            }
            Ok((_, Ok(()))) => {}
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
