//! The Kubernetes manifests (k8s/), their CRD schemas and the Dockerfile, checked by
//! `scripts/validate-k8s`: every overlay builds with the pinned kubectl, validates against the
//! Kubernetes 1.30 schemas (strict) and the vendored CRD schemas, and keeps the invariants
//! operators rely on. The negative cases break one thing in a copy of the tree and require the
//! validator to fail naming it, so the checks are known to bite.
//!
//! The tools come from `scripts/setup-test-env k8s_tools` (`.tools/bin/kubectl`,
//! `.tools/venv-k8s`). Without them these tests are skipped with a message, except under
//! CI=true, where a missing tool is a failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when the tools are installed; false (skip) when not, panicking instead under CI=true.
fn tools_present(test: &str) -> bool {
    let missing: Vec<PathBuf> = [".tools/bin/kubectl", ".tools/venv-k8s/bin/python"]
        .iter()
        .map(|p| repo().join(p))
        .filter(|p| !p.exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: {} missing; install with scripts/setup-test-env k8s_tools",
        missing
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true: the manifest validation must run, not skip)");
    }
    eprintln!("SKIPPED {msg}");
    false
}

fn run_validator(args: &[&str]) -> (Output, String) {
    let out = Command::new(repo().join("scripts/validate-k8s"))
        .args(args)
        .current_dir(repo())
        .env_remove("SARAP_VALIDATE_K8S_REEXEC")
        .output()
        .expect("run scripts/validate-k8s (needs python3 on PATH)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn manifests_and_dockerfile_pass_validation() {
    if !tools_present("manifests_and_dockerfile_pass_validation") {
        return;
    }
    let (out, text) = run_validator(&[]);
    println!("{text}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "scripts/validate-k8s failed:\n{text}"
    );
    for overlay in ["dev", "prod", "prod-without-keda"] {
        assert!(
            text.contains(&format!("ok   [{overlay}] kubectl kustomize builds")),
            "overlay {overlay} was not built:\n{text}"
        );
    }
    assert!(!text.contains("FAIL"), "{text}");
    assert!(!text.contains("WARN"), "{text}");
}

/// One change to a copy of the tree.
enum Change {
    /// Replace the first occurrence of `from` (which must exist) by `to`.
    Replace(&'static str, &'static str, &'static str),
    /// Append text to a file.
    Append(&'static str, &'static str),
    /// Create or overwrite a file.
    Write(&'static str, &'static str),
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies what the validator reads into a temporary tree and applies the changes.
fn broken_tree(changes: &[Change]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&repo().join("k8s"), &root.join("k8s"));
    copy_dir(&repo().join("config"), &root.join("config"));
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::copy(
        repo().join("docs/OPERATIONS.md"),
        root.join("docs/OPERATIONS.md"),
    )
    .unwrap();
    fs::copy(repo().join("Dockerfile"), root.join("Dockerfile")).unwrap();
    for change in changes {
        match change {
            Change::Replace(path, from, to) => {
                let p = root.join(path);
                let text = fs::read_to_string(&p).unwrap();
                assert!(
                    text.contains(from),
                    "test setup: {path} no longer contains {from:?}; update this test"
                );
                fs::write(&p, text.replacen(from, to, 1)).unwrap();
            }
            Change::Append(path, more) => {
                let p = root.join(path);
                let text = fs::read_to_string(&p).unwrap();
                fs::write(&p, text + more).unwrap();
            }
            Change::Write(path, text) => fs::write(root.join(path), text).unwrap(),
        }
    }
    dir
}

/// Runs the validator on a broken copy (one overlay, for speed) and requires it to fail with a
/// FAIL line containing `check` and `detail`, while the rest of the run still happened.
fn assert_rejected(test: &str, overlay: &str, changes: &[Change], check: &str, detail: &str) {
    if !tools_present(test) {
        return;
    }
    let tree = broken_tree(changes);
    let root = tree.path().to_str().unwrap();
    let (out, text) = run_validator(&["--root", root, "--overlay", overlay]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{test}: the validator should reject the broken tree:\n{text}"
    );
    let fail_line = text
        .lines()
        .find(|l| l.starts_with("FAIL") && l.contains(check))
        .unwrap_or_else(|| panic!("{test}: no FAIL line naming {check:?}:\n{text}"));
    assert!(
        fail_line.contains(detail),
        "{test}: FAIL line does not say {detail:?}: {fail_line}"
    );
    // Only the broken thing fails; every other check passed.
    let fails = text.lines().filter(|l| l.starts_with("FAIL")).count();
    assert_eq!(
        fails, 1,
        "{test}: expected exactly one failing check:\n{text}"
    );
}

#[test]
fn rejects_a_writable_root_filesystem() {
    assert_rejected(
        "rejects_a_writable_root_filesystem",
        "prod",
        &[Change::Replace(
            "k8s/base/analyze.yaml",
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        )],
        "[prod] every container: runAsNonRoot, readOnlyRootFilesystem",
        "Deployment/sarap-analyze/analyze: readOnlyRootFilesystem not true",
    );
}

#[test]
fn rejects_a_container_without_limits() {
    assert_rejected(
        "rejects_a_container_without_limits",
        "dev",
        &[Change::Replace(
            "k8s/base/ingest.yaml",
            "          limits:\n            cpu: \"2\"\n            memory: 768Mi\n",
            "",
        )],
        "[dev] every container has cpu and memory requests and limits",
        "Deployment/sarap-ingest/ingest: no limits.cpu",
    );
}

#[test]
fn rejects_keda_max_replicas_above_partitions() {
    assert_rejected(
        "rejects_keda_max_replicas_above_partitions",
        "prod",
        &[Change::Replace(
            "k8s/base/keda.yaml",
            "maxReplicaCount: 24",
            "maxReplicaCount: 25",
        )],
        "[prod] autoscalers",
        "maxReplicaCount 25 exceeds the 24 partitions of posts.clean",
    );
}

#[test]
fn rejects_fewer_partitions_than_the_autoscaler_maximum() {
    // The partition counts are written once; lowering one below an autoscaler's maximum fails.
    assert_rejected(
        "rejects_fewer_partitions_than_the_autoscaler_maximum",
        "prod-without-keda",
        &[Change::Replace(
            "k8s/base/partitions.env",
            "posts.clean=24",
            "posts.clean=16",
        )],
        "[prod-without-keda] autoscalers",
        "HorizontalPodAutoscaler/sarap-analyze: maxReplicas 24 exceeds the 16 partitions",
    );
}

#[test]
fn rejects_two_autoscalers_on_one_deployment() {
    assert_rejected(
        "rejects_two_autoscalers_on_one_deployment",
        "prod",
        &[
            Change::Write(
                "k8s/overlays/prod/extra-hpa.yaml",
                "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: extra\n\
                 spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    \
                 name: sarap-analyze\n  minReplicas: 2\n  maxReplicas: 4\n",
            ),
            Change::Replace(
                "k8s/overlays/prod/kustomization.yaml",
                "- keda-trigger-auth.yaml\n",
                "- keda-trigger-auth.yaml\n- extra-hpa.yaml\n",
            ),
        ],
        "[prod] at most one autoscaler per Deployment",
        "sarap-analyze: ScaledObject/sarap-analyze, HorizontalPodAutoscaler/extra",
    );
}

#[test]
fn rejects_a_missing_pod_disruption_budget() {
    assert_rejected(
        "rejects_a_missing_pod_disruption_budget",
        "prod",
        &[Change::Replace(
            "k8s/base/pdb.yaml",
            "      app.kubernetes.io/component: sink",
            "      app.kubernetes.io/component: sinks",
        )],
        "[prod] each consumer role has a PodDisruptionBudget",
        "sink: no PodDisruptionBudget selects its pods",
    );
}

#[test]
fn rejects_a_latest_image_in_prod() {
    assert_rejected(
        "rejects_a_latest_image_in_prod",
        "prod",
        &[Change::Replace(
            "k8s/overlays/prod/kustomization.yaml",
            "newTag: 0.1.0",
            "newTag: latest",
        )],
        "[prod] images pinned",
        "registry.sarap.invalid/sarap/sarap:latest is not pinned",
    );
}

#[test]
fn rejects_a_secret_committed_to_prod() {
    assert_rejected(
        "rejects_a_secret_committed_to_prod",
        "prod",
        &[Change::Append(
            "k8s/overlays/prod/kustomization.yaml",
            "\nsecretGenerator:\n- name: sarap-tokens\n  literals:\n  - SARAP_TOKEN_ANALYST=3f9a1c...\n",
        )],
        "[prod] no real secrets",
        "a Secret in the prod build",
    );
}

#[test]
fn rejects_a_config_copy_that_drifted() {
    assert_rejected(
        "rejects_a_config_copy_that_drifted",
        "dev",
        &[Change::Append("config/policy.toml", "\n# changed\n")],
        "config: k8s/base/config/*.toml byte-identical",
        "k8s/base/config/policy.toml differs from config/policy.toml",
    );
}

#[test]
fn rejects_an_unknown_field_in_a_built_in_kind() {
    assert_rejected(
        "rejects_an_unknown_field_in_a_built_in_kind",
        "dev",
        &[Change::Replace(
            "k8s/base/analyze.yaml",
            "terminationGracePeriodSeconds: 60",
            "terminationGracePeriodSecond: 60",
        )],
        "[dev] Deployment/sarap-analyze validates against the Kubernetes 1.30 schema (strict)",
        "terminationGracePeriodSecond",
    );
}

#[test]
fn rejects_an_unknown_field_in_a_custom_resource() {
    assert_rejected(
        "rejects_an_unknown_field_in_a_custom_resource",
        "prod",
        &[Change::Replace(
            "k8s/base/servicemonitor.yaml",
            "    interval: 30s",
            "    intervall: 30s",
        )],
        "[prod] ServiceMonitor/sarap validates against the vendored CRD schema",
        "'intervall' was unexpected",
    );
}

#[test]
fn rejects_an_image_without_a_user() {
    assert_rejected(
        "rejects_an_image_without_a_user",
        "dev",
        // Without USER the image runs as root; runAsNonRoot would refuse to start it.
        &[Change::Replace("Dockerfile", "USER 10001:10001\n", "")],
        "Dockerfile: numeric non-root USER",
        "final stage sets no USER",
    );
}

#[test]
fn rejects_an_alert_that_no_longer_fires() {
    // promtool's unit tests (k8s/tests/prometheusrule-test.yaml) catch a broken expression that
    // still parses. promtool comes from Debian's prometheus package (setup-test-env k8s_tools).
    let promtool = Command::new("promtool").arg("--version").output().is_ok();
    if !promtool {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "promtool missing (CI=true): run scripts/setup-test-env k8s_tools"
        );
        eprintln!("SKIPPED rejects_an_alert_that_no_longer_fires: promtool missing");
        return;
    }
    assert_rejected(
        "rejects_an_alert_that_no_longer_fires",
        "prod",
        &[Change::Replace(
            "k8s/base/prometheusrule.yaml",
            "        ) == 0\n",
            "        ) < 0\n",
        )],
        "[prod] PrometheusRule: promtool check rules and the alert unit tests pass",
        "alertname: SarapRegionSilent",
    );
}

#[test]
fn rejects_the_pseudonymisation_key_outside_ingest() {
    assert_rejected(
        "rejects_the_pseudonymisation_key_outside_ingest",
        "prod",
        &[Change::Replace(
            "k8s/base/analyze.yaml",
            "        env:\n",
            "        env:\n        - name: SARAP_PSEUDONYM_KEY\n          valueFrom:\n            \
             secretKeyRef:\n              name: sarap-pseudonym\n              key: SARAP_PSEUDONYM_KEY\n",
        )],
        "[prod] the pseudonymisation key reaches the ingest role only",
        "analyze: has the pseudonymisation key",
    );
}
