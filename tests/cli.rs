//! The command line as operators meet it: help, policy checks, refusals to start.

use std::process::{Command, Output};

fn sarap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sarap"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SARAP_PSEUDONYM_KEY")
        .output()
        .expect("sarap runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_lists_roles_and_tools() {
    let o = sarap(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for cmd in [
        "run", "ingest", "analyze", "sink", "policy", "replay", "synth", "bench",
    ] {
        assert!(
            t.lines().any(|l| l.trim_start().starts_with(cmd)),
            "--help lacks {cmd}:\n{t}"
        );
    }
}

#[test]
fn policy_check_passes_the_shipped_policy_and_prints_its_hash() {
    let o = sarap(&["policy", "check", "config/policy.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    let hash = t
        .lines()
        .find_map(|l| l.strip_prefix("policy hash: "))
        .expect("hash line");
    let p = sarap_core::Policy::load(std::path::Path::new("config/policy.toml")).unwrap();
    assert_eq!(hash, p.hash());
}

#[test]
fn policy_check_names_a_broken_floor_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string("config/policy.toml").unwrap();
    let broken = shipped.replace("min_authors_per_cell = 10", "min_authors_per_cell = 1");
    assert_ne!(broken, shipped);
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, &broken).unwrap();
    let o = sarap(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("privacy.min_authors_per_cell"),
        "{}",
        text(&o)
    );

    let two = broken.replace(
        "alerts_require_human_review = true",
        "alerts_require_human_review = false",
    );
    std::fs::write(&path, &two).unwrap();
    let o = sarap(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("privacy.min_authors_per_cell")
            && t.contains("oversight.alerts_require_human_review"),
        "{t}"
    );
}

/// Writes a config whose policy is the shipped one with one line changed.
fn config_with_policy(dir: &std::path::Path, from: &str, to: &str) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string("config/policy.toml").unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, shipped.replace(from, to)).unwrap();
    let cfg = dir.join("sarap.toml");
    std::fs::write(&cfg, format!("policy = {:?}\n[kafka]\nbrokers = \"127.0.0.1:1\"\n[telemetry]\nlisten = \"127.0.0.1:0\"\n", policy.display().to_string())).unwrap();
    cfg
}

#[test]
fn every_role_refuses_a_policy_that_breaks_a_floor() {
    let dir = tempfile::tempdir().unwrap();
    for (from, to, key) in [
        (
            "pseudonymize_authors = true",
            "pseudonymize_authors = false",
            "privacy.pseudonymize_authors",
        ),
        (
            "min_authors_per_cell = 10",
            "min_authors_per_cell = 4",
            "privacy.min_authors_per_cell",
        ),
        (
            "alerts_require_human_review = true",
            "alerts_require_human_review = false",
            "oversight.alerts_require_human_review",
        ),
        (
            "allow_person_level_outputs = false",
            "allow_person_level_outputs = true",
            "prohibitions.allow_person_level_outputs",
        ),
    ] {
        let cfg = config_with_policy(dir.path(), from, to);
        for role in ["run", "ingest", "analyze", "sink"] {
            let o = sarap(&[role, "--config", cfg.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(2), "{role} with {to}: {}", text(&o));
            assert!(text(&o).contains(key), "{role}: {}", text(&o));
        }
    }
}

#[test]
fn a_missing_policy_or_bad_config_stops_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sarap.toml");
    std::fs::write(&cfg, "policy = \"/nonexistent/policy.toml\"\n").unwrap();
    let o = sarap(&["ingest", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("/nonexistent/policy.toml"),
        "{}",
        text(&o)
    );

    std::fs::write(&cfg, "[ingest]\nbatch_size = -3\n").unwrap();
    let o = sarap(&["ingest", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("ingest.batch_size"), "{}", text(&o));
}

#[test]
fn ingest_refuses_to_start_without_a_pseudonymisation_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with_policy(dir.path(), "", "");
    let o = sarap(&["ingest", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("SARAP_PSEUDONYM_KEY"), "{}", text(&o));
}

#[test]
fn synth_is_deterministic_jsonl() {
    let a = sarap(&["synth", "--seed", "5", "--posts", "200"]);
    let b = sarap(&["synth", "--seed", "5", "--posts", "200"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let lines: Vec<&[u8]> = a
        .stdout
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 200);
    for l in lines {
        let p: sarap_core::RawPost = serde_json::from_slice(l).unwrap();
        assert_eq!(p.schema, sarap_core::SCHEMA_RAW);
    }
}
