//! `cdc-streamer run`: the reader and every enabled sink in one process (the
//! default for the local stack and small installs). They share nothing but
//! the shutdown signal: each still talks only through the topic, so moving
//! to separate `reader` and `sink` processes later changes no behaviour.

use std::path::Path;

use anyhow::Result;

use crate::config::AppConfig;
use crate::shutdown::Shutdown;

pub async fn run(path: &Path) -> Result<()> {
    let config = AppConfig::load(path)?;
    super::logging::init(&config.log);
    crate::metrics::start(&config.metrics)?;
    let shutdown = Shutdown::install();
    let reader_config = config.clone();
    let reader_shutdown = shutdown.clone();
    let reader = async move {
        let r = super::reader::run_with(&reader_config, reader_shutdown.clone()).await;
        // Either half failing stops the other: the process exits with the
        // error, a supervisor restarts it, and both resume from checkpoints.
        reader_shutdown.trigger();
        r
    };
    let sink_shutdown = shutdown.clone();
    let sinks = async move {
        let r = super::sink::run_with(&config, None, sink_shutdown.clone()).await;
        sink_shutdown.trigger();
        r
    };
    let (r, s) = tokio::join!(reader, sinks);
    r.and(s)
}
