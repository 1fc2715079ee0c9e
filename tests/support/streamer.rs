//! Running the real `cdc-streamer` binary as a child process: tests kill it
//! with SIGKILL, read its log, and check its exit status and messages.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The built binary: `$CDC_STREAMER_BIN`, or `target/debug/cdc-streamer`
/// beside this workspace (`deploy/local/test.sh` builds it first).
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("CDC_STREAMER_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let bin = target.join("debug").join("cdc-streamer");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p cdc-streamer` (deploy/local/test.sh does)",
        bin.display()
    );
    bin
}

/// A running (or finished) `cdc-streamer` process with its log file.
pub struct Streamer {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Streamer {
    /// Starts `cdc-streamer ARGS…`, stdout and stderr appended to `log`.
    pub fn spawn(args: &[&str], log: &Path) -> Streamer {
        Streamer::spawn_with_env(args, log, &[])
    }

    /// Like [`spawn`](Self::spawn), with extra environment variables.
    pub fn spawn_with_env(args: &[&str], log: &Path, env: &[(&str, &str)]) -> Streamer {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(binary())
            .args(args)
            .env("RUST_LOG", "info,cdc_source_mysql=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn cdc-streamer");
        Streamer {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (counting from the start of the
    /// file). Panics with the log when it does not appear in time, or when the
    /// process exits first.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().contains(needle) {
                return;
            }
            if let Some(status) = self.try_status() {
                panic!(
                    "cdc-streamer exited ({status}) before logging `{needle}`:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "cdc-streamer did not log `{needle}` within {timeout:?}:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status() {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "cdc-streamer still running after {timeout:?}:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no flush, no checkpoint, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a graceful exit.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        self.wait_exit(timeout).await
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A log without its ANSI colours.
pub fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
