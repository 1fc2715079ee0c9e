//! The benchmark's own stack, as `bench/run.sh` started it with
//! `deploy/local/up.sh`: where MariaDB and the broker listen, where the
//! release binaries and the peer's Python are, and where this run writes its
//! configs and logs.
//!
//! Everything comes from the same `CDC_*` variables `deploy/local/env.sh`
//! reads, with the benchmark's defaults (ports 3367/9242, `.local/bench`), so
//! `cdc-bench` run by hand after `run.sh --keep` finds the same stack.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mysql_async::Conn;

/// The account the benchmark loads data with and the pipelines read with:
/// up.sh's all-privileges test account (the reader needs replication grants,
/// the loader needs to create scratch databases).
pub const ADMIN_USER: &str = "cdc_admin";
pub const ADMIN_PASSWORD: &str = "cdc_admin";

#[derive(Debug, Clone)]
pub struct Stack {
    pub repo: PathBuf,
    /// `CDC_LOCAL_DIR`: the stack's data, pid files and logs.
    pub dir: PathBuf,
    pub mysql_port: u16,
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// Directory holding `cdc-streamer` and `hubspot-sim` (release builds).
    pub bin_dir: PathBuf,
    /// Python of the venv holding the peer (`mysql-replication`).
    pub python: PathBuf,
    /// This run's configs and process logs.
    pub run_dir: PathBuf,
    /// A malloc library to preload (`CDC_BENCH_JEMALLOC`, opt-in): the
    /// allocator experiment runs our processes with it too. The binaries link
    /// jemalloc themselves since it showed a 3x decode speed-up, so this now
    /// only changes the allocator of the C libraries (librdkafka).
    pub jemalloc: Option<PathBuf>,
}

impl Stack {
    /// Reads the environment; `bin_dir` and `python` may be overridden by flags.
    pub fn from_env(bin_dir: Option<PathBuf>, python: Option<PathBuf>) -> Result<Stack> {
        let repo = match std::env::var_os("CDC_REPO_ROOT") {
            Some(r) => PathBuf::from(r),
            // bench/ sits at the root of the repository.
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .context("bench/ has no parent directory")?
                .to_path_buf(),
        };
        let dir = std::env::var_os("CDC_LOCAL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join(".local/bench"));
        let port = |name: &str, default: u16| -> Result<u16> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .with_context(|| format!("{name}={v} is not a port")),
                Err(_) => Ok(default),
            }
        };
        let mysql_port = port("CDC_MYSQL_PORT", 3367)?;
        let kafka_port = port("CDC_KAFKA_PORT", 9242)?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join("target"));
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let run_dir = dir.join("runs").join(stamp);
        std::fs::create_dir_all(&run_dir)
            .with_context(|| format!("creating {}", run_dir.display()))?;
        let jemalloc = std::env::var_os("CDC_BENCH_JEMALLOC")
            .map(PathBuf::from)
            .filter(|p| p.is_file());
        Ok(Stack {
            jemalloc,
            bin_dir: bin_dir.unwrap_or_else(|| target.join("release")),
            python: python.unwrap_or_else(|| dir.join("venv/bin/python")),
            repo,
            dir,
            mysql_port,
            brokers: format!("127.0.0.1:{kafka_port}"),
            run_dir,
        })
    }

    /// `mysql://cdc_admin:cdc_admin@127.0.0.1:PORT[/db]`.
    pub fn mysql_url(&self, db: Option<&str>) -> String {
        let base = format!(
            "mysql://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{}",
            self.mysql_port
        );
        match db {
            Some(db) => format!("{base}/{db}"),
            None => base,
        }
    }

    pub async fn conn(&self) -> Result<Conn> {
        Conn::from_url(self.mysql_url(None).as_str())
            .await
            .with_context(|| {
                format!(
                    "connecting to the benchmark's MariaDB on 127.0.0.1:{} (is the stack up? bash bench/run.sh starts it)",
                    self.mysql_port
                )
            })
    }

    pub fn binary(&self, name: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(name);
        anyhow::ensure!(
            path.is_file(),
            "{} is missing: cargo build --release -p cdc-bench -p cdc-streamer -p hubspot-sim",
            path.display()
        );
        Ok(path)
    }

    /// The pid of one of up.sh's services (`mariadb`, `tansu`), for CPU
    /// accounting; `None` when its pid file is unreadable.
    pub fn service_pid(&self, service: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("run").join(format!("{service}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}
