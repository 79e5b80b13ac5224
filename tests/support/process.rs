//! Running the `sarap` binary as a separate process in tests (crash, restart and rebalance
//! tests need real processes, so a kill is a real kill).

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `sarap ARGS…` from the repository root with its log appended to `log`.
pub fn spawn_sarap(args: &[&str], log: &Path, envs: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sarap"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        );
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("sarap {args:?} does not start: {e}"))
}

/// Sends SIGTERM (the graceful drain) to a child.
pub fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM failed");
}

/// Kills the process if the test fails before it stops it, so no role outlives its test.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
