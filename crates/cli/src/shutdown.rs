//! Graceful shutdown: SIGINT or SIGTERM flips a watch channel that every
//! long-running loop selects on, so each can finish its step (flush,
//! checkpoint, commit) instead of dying mid-batch.

use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>, std::sync::Arc<watch::Sender<bool>>);

impl Shutdown {
    /// Installs the signal handlers.
    pub fn install() -> Self {
        let (tx, rx) = watch::channel(false);
        let tx = std::sync::Arc::new(tx);
        let signal_tx = tx.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            tracing::info!("shutdown requested; finishing the current step");
            crate::metrics::set_ready(false);
            let _ = signal_tx.send(true);
        });
        Self(rx, tx)
    }

    /// Asks every holder to stop, as a signal would (one half of `run`
    /// failing stops the other).
    pub fn trigger(&self) {
        let _ = self.1.send(true);
    }

    /// Resolves once shutdown is requested.
    pub async fn requested(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
