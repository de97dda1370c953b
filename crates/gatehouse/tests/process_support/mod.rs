//! Process-level harness: runs the real `gatehouse` binary on free loopback ports with
//! its output captured to files, waits for `/readyz`, and always kills what it started.
//! The HTTP clients are the ones of `tests/support`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Admin, Browser, TEST_MASTER_KEY, TEST_SECRET_KEY};

/// The binary under test, built by Cargo for integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a CLI command may run.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// What a process runs with: a working directory and `GATEHOUSE_*` variables. Every
/// `GATEHOUSE_*` variable of the test process itself is removed, so only these count.
#[derive(Debug, Clone)]
pub struct ProcEnv {
    pub cwd: PathBuf,
    pub vars: Vec<(String, String)>,
}

impl ProcEnv {
    /// Only JSON logs at the default level; nothing else configured.
    pub fn bare(cwd: &Path) -> ProcEnv {
        ProcEnv {
            cwd: cwd.to_path_buf(),
            vars: vec![("GATEHOUSE_LOG_FORMAT".into(), "json".into())],
        }
    }

    /// A test instance: the given database, `data_dir` under `cwd`, the fixed test master
    /// and secret keys, rate limits off and sign-ups that complete at once (tests override
    /// any of it with [`ProcEnv::set`]).
    pub fn instance(cwd: &Path, database_url: &str) -> ProcEnv {
        ProcEnv::bare(cwd)
            .set("GATEHOUSE_DATABASE_URL", database_url)
            .set(
                "GATEHOUSE_DATA_DIR",
                &cwd.join("data").display().to_string(),
            )
            .set("GATEHOUSE_MASTER_KEY", TEST_MASTER_KEY)
            .set("GATEHOUSE_SECRET_KEY", TEST_SECRET_KEY)
            .set("GATEHOUSE_RATE_LIMITS__ENABLED", "false")
            .set("GATEHOUSE_AUTH__VERIFY_EMAIL_AT_SIGN_UP", "false")
    }

    /// Sets (or replaces) a variable.
    pub fn set(mut self, key: &str, value: &str) -> ProcEnv {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
        self
    }

    /// Removes a variable.
    pub fn unset(mut self, key: &str) -> ProcEnv {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `gatehouse <args>` in this environment, stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.cwd).stdin(Stdio::null());
        for (k, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            if k.starts_with("GATEHOUSE_") {
                cmd.env_remove(&k);
            }
        }
        cmd.envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }
}

/// The result of a CLI command that ran to completion.
#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with the whole output unless the command succeeded.
    pub fn ok(self) -> CliOutput {
        assert!(self.success(), "command failed: {self}");
        self
    }
}

impl std::fmt::Display for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `gatehouse <args>` to completion (killed after 30 s, which fails the test).
pub async fn run_cli(env: &ProcEnv, args: &[&str]) -> CliOutput {
    let mut cmd = tokio::process::Command::from(env.command(args));
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("spawn gatehouse");
    let out = tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`gatehouse {}` did not finish within {CLI_TIMEOUT:?}",
                args.join(" ")
            )
        })
        .expect("wait for gatehouse");
    CliOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running `gatehouse serve`; killed (SIGKILL) when dropped if still running.
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    pub public_url: String,
    pub admin_url: String,
    pub env: ProcEnv,
    stdout: PathBuf,
    stderr: PathBuf,
    _logs: tempfile::TempDir,
}

impl Server {
    /// Starts `gatehouse serve` on free ports (`GATEHOUSE_LISTEN`, `GATEHOUSE_ADMIN_LISTEN`,
    /// and a matching `GATEHOUSE_PUBLIC_URL`) and waits until both listeners answer
    /// `/readyz`. A lost race for a port is retried with new ones.
    pub async fn start(env: &ProcEnv) -> Server {
        Server::start_as(env, None).await
    }

    /// Like [`Server::start`], but with this `public_url` (several processes behind one
    /// address, as behind a load balancer) instead of its own listener's.
    pub async fn start_as(env: &ProcEnv, public_url: Option<&str>) -> Server {
        for _ in 0..3 {
            let public = free_port();
            let admin = free_port();
            let env = env
                .clone()
                .set("GATEHOUSE_LISTEN", &format!("127.0.0.1:{public}"))
                .set("GATEHOUSE_ADMIN_LISTEN", &format!("127.0.0.1:{admin}"))
                .set(
                    "GATEHOUSE_PUBLIC_URL",
                    public_url.unwrap_or(&format!("http://127.0.0.1:{public}")),
                );
            let mut server = Server::spawn(env, public, admin);
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(output) if output.contains("cannot listen") => continue,
                Err(output) => panic!("gatehouse did not become ready:\n{output}"),
            }
        }
        panic!("gatehouse could not get free ports three times in a row");
    }

    fn spawn(env: ProcEnv, public: u16, admin: u16) -> Server {
        let logs = tempfile::tempdir().expect("tempdir for logs");
        let stdout = logs.path().join("stdout.log");
        let stderr = logs.path().join("stderr.log");
        let child = env
            .command(&["serve"])
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn gatehouse serve");
        Server {
            pid: child.id(),
            child: Some(child),
            public_url: format!("http://127.0.0.1:{public}"),
            admin_url: format!("http://127.0.0.1:{admin}"),
            env,
            stdout,
            stderr,
            _logs: logs,
        }
    }

    /// Polls `/readyz` on both listeners; `Err(output)` when the process exits first or
    /// the time runs out (the process is then killed).
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("exited early ({status})\n{}", self.output()));
            }
            let mut ready = true;
            for base in [&self.public_url, &self.admin_url] {
                let ok = http
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                ready &= ok;
            }
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "not ready within {READY_TIMEOUT:?}\n{}",
                    self.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal by name (`TERM`, `KILL`, ...) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        assert!(self.child.is_some(), "the process was already reaped");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{name} {} failed", self.pid);
    }

    /// Waits (polling) for the process to exit; `None` if it is still running after
    /// `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM and wait for a clean exit (at most 20 s).
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_exit(Duration::from_secs(20)).await {
            Some(status) => status,
            None => {
                self.kill();
                panic!(
                    "gatehouse did not exit within 20 s of SIGTERM\n{}",
                    self.output()
                );
            }
        }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Everything the process wrote so far, stdout then stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// A Backend API client with the given key.
    pub fn admin_with(&self, key: &str) -> Admin {
        Admin {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: self.admin_url.clone(),
            key: key.to_string(),
        }
    }

    /// A Backend API client with the configured test secret key.
    pub fn admin(&self) -> Admin {
        self.admin_with(TEST_SECRET_KEY)
    }

    /// A new browser (own cookie jar, this server's Origin).
    pub fn browser(&self) -> Browser {
        Browser::new(&self.public_url, &self.public_url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
