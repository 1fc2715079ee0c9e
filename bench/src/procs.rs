//! Child processes and what `/proc` says about them: spawning the real
//! binaries with their output in a log file, reading their JSON log lines as
//! they come, sampling memory, and stopping them by their own pid only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// A process we started; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Runs `bin args…` with stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Proc> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            // The product reads RUST_LOG before its config: keep ours out.
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has exited (with the end of its log).
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); end of {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 15)
            );
        }
        Ok(())
    }

    /// SIGTERM, up to `grace` for a clean exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// The last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Reads a JSON-lines log as it grows.
pub struct LogWatch {
    reader: BufReader<std::fs::File>,
    partial: String,
}

impl LogWatch {
    pub fn open(path: &Path) -> Result<LogWatch> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(LogWatch {
            reader: BufReader::new(file),
            partial: String::new(),
        })
    }

    /// The JSON lines written since the last call.
    pub fn new_lines(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with('\n') {
                // Half a line: keep it for the next call.
                self.partial.push_str(&line);
                break;
            }
            let full = std::mem::take(&mut self.partial) + &line;
            if let Ok(v) = serde_json::from_str::<Value>(full.trim()) {
                out.push(v);
            }
        }
        out
    }
}

/// A log line's message (`fields.message` in tracing's JSON format).
pub fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

/// A log line's timestamp in µs since the epoch.
pub fn timestamp_us(line: &Value) -> Option<i64> {
    let ts = line["timestamp"].as_str()?;
    let t = chrono::DateTime::parse_from_rfc3339(ts).ok()?;
    Some(t.timestamp_micros())
}

/// Waits until `proc` logs a line whose message is `msg`; returns the line.
pub async fn wait_for_log(proc: &mut Proc, msg: &str, timeout: Duration) -> Result<Value> {
    let mut watch = LogWatch::open(&proc.log)?;
    let deadline = Instant::now() + timeout;
    loop {
        for line in watch.new_lines() {
            if message(&line) == msg {
                return Ok(line);
            }
        }
        proc.ensure_running()?;
        if Instant::now() > deadline {
            bail!(
                "{} did not log {msg:?} within {timeout:?}; end of {}:\n{}",
                proc.name,
                proc.log.display(),
                tail(&proc.log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU seconds a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks() as f64)
}

/// `sysconf(_SC_CLK_TCK)`, read once through `getconf` (100 on Linux).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// CPU used by a set of processes between two moments.
pub struct CpuMeter {
    start: Vec<(String, u32, f64)>,
    started: Instant,
}

impl CpuMeter {
    pub fn start(pids: &[(&str, u32)]) -> CpuMeter {
        CpuMeter {
            start: pids
                .iter()
                .map(|(n, p)| (n.to_string(), *p, cpu_seconds(*p).unwrap_or(0.0)))
                .collect(),
            started: Instant::now(),
        }
    }

    /// Per process: cores used on average since `start` (1.0 = one core busy).
    pub fn cores(&self) -> Vec<(String, f64)> {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        self.start
            .iter()
            .map(|(n, p, s)| {
                let now = cpu_seconds(*p).unwrap_or(*s);
                (n.clone(), ((now - s) / wall * 100.0).round() / 100.0)
            })
            .collect()
    }
}

/// Samples a process's `VmRSS` every 100 ms in the background and keeps the
/// highest value; `VmHWM` (the kernel's own peak) is read at the end.
pub struct RssSampler {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, halt) = (peak_kib.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut samples = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !halt.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(kib) = status_kib(pid, "VmRSS") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                    samples += 1;
                }
            }
            samples
        });
        RssSampler {
            pid,
            peak_kib,
            stop,
            task,
        }
    }

    /// Stops sampling; call while the process still runs so VmHWM is there.
    pub async fn finish(self) -> RssPeak {
        let hwm_kib = status_kib(self.pid, "VmHWM");
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.task.await.unwrap_or(0);
        RssPeak {
            sampled_peak_mib: self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
            hwm_mib: hwm_kib.map(|k| k as f64 / 1024.0),
            samples,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RssPeak {
    /// Highest VmRSS seen in the 100 ms samples.
    pub sampled_peak_mib: f64,
    /// The kernel's high-water mark of the resident set, at the end.
    pub hwm_mib: Option<f64>,
    pub samples: u64,
}
