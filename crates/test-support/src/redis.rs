//! A real `redis-server` (Debian's package) for the tests of the shared state, started on a free
//! port of 127.0.0.1 in a temporary directory of its own, never the system's service.
//!
//! It persists as a team's Redis should (`--appendonly yes --appendfsync always`: every write
//! in the append-only file before Redis answers it), so [`RedisServer::kill`] then
//! [`RedisServer::start_again`] is a crash and a restart that keeps the data;
//! [`RedisServer::start_again_empty`] is a Redis that comes back without it;
//! [`RedisServer::freeze`] one that answers nothing while its connections stay open.
//!
//! `.ci/run` installs the package. Where `redis-server` cannot be run, [`RedisServer::start`]
//! fails the test in CI (`CI` set, as CI services set it) and outside CI skips it, saying so in
//! the test runner's output.

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`, stopped when dropped.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Whether the tests run in CI, where a missing `redis-server` is a failure, never a skip.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it answers; `None` (outside CI
    /// only) when this machine has no `redis-server`: the calling test is then skipped, and the
    /// skip written to the runner's output (not captured, so it shows beside `ok`), naming
    /// the test (the test harness names each test's thread after it).
    pub fn start() -> Option<Self> {
        if let Err(e) = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
        {
            let why = format!(
                "cannot run redis-server ({e}): the shared-state tests need Debian's \
                 redis-server (`apt-get install -y redis-server`; .ci/run installs it)"
            );
            assert!(!in_ci(), "{why}");
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            // Straight to the process's stderr: the test harness captures `eprintln!`.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return None;
        }
        // A port the system just gave out and took back: free, unless a race takes it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            port,
            dir: tempfile::tempdir().expect("a temp dir"),
            child: None,
        };
        server.start_again();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT/0`, for `state_url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server at once (`SIGKILL`, as a crash would); what it persisted stays on disk.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (`SIGSTOP`): its connections stay open and nothing is answered, as
    /// with a Redis behind a network that drops packets. [`thaw`](Self::thaw) resumes it, and
    /// it then runs what it was sent meanwhile.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a frozen server (`SIGCONT`).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server runs");
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Starts it again on the same port, from what it persisted: the data of before the kill.
    pub fn start_again(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): the shared-state tests need Debian's \
                     redis-server (`apt-get install -y redis-server`; .ci/run installs it)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same port without its data (deleted first): a Redis that comes
    /// back empty, as one without persistence or a failover to an empty replica does.
    pub fn start_again_empty(&mut self) {
        self.kill();
        for entry in std::fs::read_dir(self.dir.path()).expect("its directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("its data removed");
            } else {
                std::fs::remove_file(&path).expect("its data removed");
            }
        }
        self.start_again();
    }

    /// Whether it answers `PING` now.
    fn answers(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0u8; 7];
        tcp.write_all(b"PING\r\n").is_ok()
            && tcp.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
