//! The machine a run happened on, printed with every figure: benchmark
//! numbers mean little without it, and this machine is shared.

use std::process::Command;

use mysql_async::prelude::*;
use serde::Serialize;

use crate::stack::Stack;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub ram_gib: f64,
    pub kernel: String,
    pub mariadb: String,
    pub git_commit: String,
    pub started_at: String,
    /// `/proc/loadavg` when the run started: other work on the machine.
    pub load_average: String,
}

impl Machine {
    pub async fn probe(stack: &Stack) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let ram_kib: f64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let mariadb = match stack.conn().await {
            Ok(mut c) => {
                let v: Option<String> = c.query_first("SELECT VERSION()").await.ok().flatten();
                let _ = c.disconnect().await;
                v.unwrap_or_default()
            }
            Err(_) => String::new(),
        };
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(&stack.repo)
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        };
        let dirty = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            ram_gib: (ram_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            mariadb,
            git_commit: format!(
                "{}{}",
                git(&["rev-parse", "--short", "HEAD"]),
                if dirty {
                    " (with uncommitted changes)"
                } else {
                    ""
                }
            ),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            load_average: load_average(),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} cores ({}), {} GiB RAM, Linux {}, MariaDB {}, commit {}, load average at start {}",
            self.nproc,
            self.cpu_model,
            self.ram_gib,
            self.kernel,
            self.mariadb,
            self.git_commit,
            self.load_average
        )
    }
}

/// The first three fields of `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
