//! A private, throw-away MariaDB server for tests that need server settings the shared stack
//! must not have: binlog off, `binlog_format=STATEMENT`, `binlog_row_image=MINIMAL`, …
//!
//! Each instance gets its own data directory (under `$CDC_TEST_STACK_DIR/private/`, else the
//! system temp dir), a free port and `--no-defaults`, so neither /etc/mysql nor another test
//! leaks in. Starting one takes about a second. Dropping it kills the server and deletes the
//! directory.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::stack::unique;

/// A MariaDB server owned by one test. `root@127.0.0.1` has no password.
#[derive(Debug)]
pub struct PrivateMariaDb {
    child: Child,
    dir: PathBuf,
    port: u16,
    /// The `extra_server_args` it was started with, for [`restart`](Self::restart).
    args: Vec<String>,
}

/// How long a start may take before the test fails (the 2-core CI machine can be busy).
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl PrivateMariaDb {
    /// Initialises a data directory and starts `mariadbd` with the base settings plus
    /// `extra_server_args` (later arguments win), e.g.
    /// `PrivateMariaDb::start(&["--log-bin", "--binlog-format=STATEMENT"])`.
    ///
    /// Blocks until the server answers; call it from `tokio::task::spawn_blocking` in async
    /// tests when the runtime must keep running meanwhile.
    pub fn start(extra_server_args: &[&str]) -> PrivateMariaDb {
        let dir = base_dir().join(unique("mdb"));
        fs::create_dir_all(dir.join("data"))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        install_db(&dir);

        // The port is picked by binding port 0 and released before mariadbd binds it; another
        // process may take it in between, so an "address in use" start is retried.
        let mut attempts = 3;
        loop {
            let port = free_port();
            let mut child = spawn_server(&dir, port, extra_server_args);
            match wait_ready(&mut child, &dir) {
                Ok(()) => {
                    let args = extra_server_args.iter().map(|a| a.to_string()).collect();
                    return PrivateMariaDb {
                        child,
                        dir,
                        port,
                        args,
                    };
                }
                Err(log) if attempts > 1 && log.contains("Address already in use") => {
                    attempts -= 1;
                }
                Err(log) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = fs::remove_dir_all(&dir);
                    panic!("private MariaDB (args {extra_server_args:?}) did not start: {log}");
                }
            }
        }
    }

    /// `mysql://root@127.0.0.1:<port>`: root, no password, no database selected.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The instance's directory: `data/`, `error.log`, `mysqld.sock`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server the way an operator does (SIGTERM: InnoDB shuts down cleanly, the
    /// binlog is closed) and starts it again on the same data directory, port and settings.
    /// Blocks until it answers again.
    pub fn restart(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.start_again();
    }

    /// Like [`restart`](Self::restart) after a crash: SIGKILL, so InnoDB recovers at start.
    pub fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.start_again();
    }

    fn start_again(&mut self) {
        // The same port, because clients reconnect to the address they know. It was ours a
        // moment ago and mariadbd binds with SO_REUSEADDR, so a TIME_WAIT does not block it.
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.child = spawn_server(&self.dir, self.port, &args);
        if let Err(log) = wait_ready(&mut self.child, &self.dir) {
            panic!("private MariaDB (args {args:?}) did not start again: {log}");
        }
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        // SIGKILL: the data is thrown away, so a clean shutdown would only cost time.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn base_dir() -> PathBuf {
    let base = match std::env::var_os("CDC_TEST_STACK_DIR") {
        Some(stack) => PathBuf::from(stack).join("private"),
        None => std::env::temp_dir().join("cdc-private-mariadb"),
    };
    // The socket path inside must stay under the 107-byte limit of Unix sockets.
    if base.as_os_str().len() > 60 {
        std::env::temp_dir().join("cdc-private-mariadb")
    } else {
        base
    }
}

fn is_root() -> bool {
    // /proc/self belongs to the effective user of this process; std has no geteuid.
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// `mariadbd` refuses to run as root unless told to.
fn user_args() -> Vec<&'static str> {
    if is_root() {
        vec!["--user=root"]
    } else {
        vec![]
    }
}

/// `/usr/sbin` is not on every PATH.
fn mariadbd() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("mariadbd"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/mariadbd"))
}

fn install_db(dir: &Path) {
    // mariadb-install-db fails now and then on a loaded machine (seen in CI
    // with several private servers installing at once); a clean retry
    // succeeds.
    for attempt in 1..=3 {
        match try_install_db(dir) {
            Ok(()) => return,
            Err(log) if attempt < 3 => {
                eprintln!("mariadb-install-db failed (attempt {attempt}), retrying:\n{log}");
                let _ = fs::remove_dir_all(dir.join("data"));
                let _ = fs::create_dir_all(dir.join("data"));
                std::thread::sleep(std::time::Duration::from_millis(500 * attempt));
            }
            Err(log) => {
                let _ = fs::remove_dir_all(dir);
                panic!("mariadb-install-db failed 3 times:\n{log}");
            }
        }
    }
}

fn try_install_db(dir: &Path) -> Result<(), String> {
    let log = dir.join("install.log");
    let status = Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .args(user_args())
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            // A small redo log: the default 96 MB file per instance is only disk churn here.
            "--innodb-log-file-size=10M",
        ])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).expect("creating install.log"))
        .stderr(Stdio::from(
            fs::File::options().append(true).open(&log).unwrap(),
        ))
        .status()
        .expect("running mariadb-install-db (deploy/local/install-tools.sh installs it)");
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            fs::read_to_string(&log).unwrap_or_default()
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

fn spawn_server(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let log = dir.join("error.log");
    let _ = fs::remove_file(&log);
    Command::new(mariadbd())
        .arg("--no-defaults")
        .args(user_args())
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--server-id=1",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=10M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning mariadbd")
}

/// Waits until the server answers a ping over its socket. On failure returns the error log.
fn wait_ready(child: &mut Child, dir: &Path) -> Result<(), String> {
    let socket = dir.join("mysqld.sock");
    let error_log = || fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("mariadbd exited with {status}\n{}", error_log()));
        }
        let ping = Command::new("mariadb-admin")
            .arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .args(["-uroot", "--connect-timeout=2", "ping"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if matches!(ping, Ok(status) if status.success()) {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "not ready after {START_TIMEOUT:?}\n{}",
                error_log()
            ));
        }
        sleep(Duration::from_millis(200));
    }
}
