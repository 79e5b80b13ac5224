//! A private, throwaway PostgreSQL cluster for integration tests.
//!
//! `scripts/setup-test-env postgres` installs Debian's PostgreSQL 15 server packages; the
//! binaries are found in env `SARAP_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else
//! `pg_config --bindir`, else `PATH`. [`Postgres::start`] runs `initdb` into a fresh temp folder
//! and `pg_ctl start` on a free loopback port with its unix socket inside that folder (so it
//! never touches a system cluster), with trust authentication for the `postgres` role and
//! durability off (fsync) for speed; drop stops it (`-m immediate`) and deletes the folder.
//!
//! PostgreSQL refuses to run as root, so as root every server command runs as the `postgres`
//! system user (created by the Debian package) through `runuser`, and the folder is handed to it.
//!
//! When the binaries are missing, [`Postgres::start`] returns `None` (the caller skips) unless
//! `CI` is set to anything but `false`/`0`: then it panics, so CI never passes without them.
//! Any failure to start an installed server panics.
#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// A running throwaway cluster; stopped and deleted on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<String>,
}

/// Whether this run is CI (env `CI` set and not `false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn find_bin() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(p) = std::env::var_os("SARAP_PG_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has(&p) {
            return Some(p);
        }
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).find(|d| has(d)))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free loopback port")
}

impl Postgres {
    /// Starts a cluster, or returns `None` when PostgreSQL is not installed outside CI.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = find_bin() else {
            let msg = "PostgreSQL server binaries not found: run scripts/setup-test-env postgres \
                       (or set SARAP_PG_BIN to a folder with initdb and pg_ctl)";
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("SKIPPING the PostgreSQL half of this test: {msg}");
            return None;
        };
        let run_as = is_root().then(|| "postgres".to_string());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("sarap-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("sock")).expect("create the cluster folder");
        let mut pg = Postgres {
            bin,
            dir,
            port: 0,
            run_as,
        };
        if let Some(user) = &pg.run_as {
            let ok = Command::new("chown")
                .args(["-R", &format!("{user}:"), pg.dir.to_str().unwrap()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "running as root, the cluster folder must belong to the {user:?} system user \
                 (created by Debian's postgresql package), but chown failed"
            );
        }
        let data = pg.dir.join("data");
        pg.server_cmd(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let mut last = String::new();
        for _ in 0..3 {
            pg.port = free_port();
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                pg.port,
                pg.dir.join("sock").display()
            );
            let log = pg.dir.join("server.log");
            let ok = pg.try_server_cmd(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    log.to_str().unwrap(),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &opts,
                    "start",
                ],
            );
            match ok {
                Ok(()) => return Some(pg),
                Err(e) => last = format!("{e}\nserver log:\n{}", pg.log_tail()),
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// `postgres://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database (each test uses its own).
    pub fn create_database(&self, name: &str) {
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        let mut c = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.args(args).current_dir(&self.dir).stdin(Stdio::null());
        c
    }

    fn try_server_cmd(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(tool, args)
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn server_cmd(&self, tool: &str, args: &[&str]) {
        if let Err(e) = self.try_server_cmd(tool, args) {
            panic!("{e}");
        }
    }

    fn log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.dir.join("server.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s.chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.try_server_cmd(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        if std::thread::panicking() {
            eprintln!("PostgreSQL folder kept at {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
