//! The dashboard, the alert review and the auditor workbench in a real headless Chromium,
//! against `sarap run` (embedded broker, the real models) fed by a `sarap synth` stream with a
//! hostility wave in Almaty; and `sarap audit` on the audit log that run left, including a
//! tampered record. Screenshots go to `artifacts/screenshots/`.
//!
//! It is also the end-to-end scenario of the sink issue: the wave raises an alert for Almaty
//! and none for the calm regions, and the alert stays open until an analyst confirms it.

#[allow(dead_code)]
mod support;

#[path = "support/browser.rs"]
mod browser;

use browser::Browser;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use support::http::{request_as, ANALYST, AUDITOR, OPERATOR};
use support::process::{sigterm, spawn_sarap, Guard};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sarap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sarap"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

async fn get(addr: SocketAddr, token: &str, path: &str) -> Value {
    let (status, v) = request_as(addr, Some(token), "GET", path, None).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_alert_review_and_audit_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    // About 80 minutes of event time ending before now, 60 posts a minute (5-minute windows):
    // some 9 calm windows (the baseline needs 6), a wave in Almaty from 55% to 85% of the
    // stream (it adds posts, so it lasts some 20 minutes), calm again after it.
    let start = chrono::Utc::now() - chrono::Duration::minutes(90);
    let start = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let sample = dir.path().join("sample.jsonl");
    let out = sarap(&[
        "synth",
        "--seed",
        "11",
        "--posts",
        "5000",
        "--posts-per-minute",
        "60",
        "--start",
        &start,
        "--scenario",
        "hostility-wave:almaty:0.55:0.85:0.6",
        "--out",
        sample.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port();
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let store = format!("sqlite://{}/sarap.db", dir.path().display());
    let listen = format!("127.0.0.1:{port}");
    let telemetry = format!("127.0.0.1:{}", free_port());
    // The run's log is kept with the screenshots, for when this test fails.
    std::fs::create_dir_all("artifacts").unwrap();
    let log = std::path::PathBuf::from("artifacts/web_browser-run.log");
    let _ = std::fs::remove_file(&log);
    let run = Guard(spawn_sarap(
        &[
            "run",
            "--sample-file",
            sample.to_str().unwrap(),
            "--sample-rate",
            "2000",
        ],
        &log,
        &[
            ("SARAP_STORE_URL", store.as_str()),
            ("SARAP__SINK__API_LISTEN", listen.as_str()),
            ("SARAP__TELEMETRY__LISTEN", telemetry.as_str()),
            // Six windows of baseline instead of twelve, so the test needs half the stream.
            ("SARAP__SINK__ANOMALY__WARMUP_WINDOWS", "6"),
            // No partition counts as idle while the models catch up: on a loaded machine a
            // region's posts can pause for a minute upstream, and a window closed early takes
            // its late posts as a correction, which does not re-judge alerts.
            ("SARAP__SINK__IDLE_PARTITION_SECS", "600"),
            ("SARAP_TOKEN_ANALYST", ANALYST),
            ("SARAP_TOKEN_AUDITOR", &format!("t.auditor:{AUDITOR}")),
            ("SARAP_TOKEN_OPERATOR", OPERATOR),
        ],
    ));
    let logtail = || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t[t.len().saturating_sub(4000)..].to_string()
    };

    // The whole stream through the real models: wait until the last window the watermark can
    // close is published (the newest event time less the allowed lateness of 5 minutes).
    let last_event = std::fs::read_to_string(&sample)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str()?)
                .ok()
                .map(|t| t.timestamp())
        })
        .max()
        .unwrap();
    let want_end = (last_event - 300) / 300 * 300;
    let t0 = Instant::now();
    // The API binds once the models are loaded.
    while std::net::TcpStream::connect(api).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the API did not come up; log:\n{}",
            logtail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    loop {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "the stream was not processed in 10 minutes; log:\n{}",
            logtail()
        );
        let (status, v) = request_as(api, Some(ANALYST), "GET", "/api/regions", None).await;
        let time = |v: &Value| {
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp())
        };
        // Each partition of posts.scored has its own watermark: wait for the newest window
        // overall and for Almaty's (the region with the wave) to be near the end too.
        let almaty = v["regions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["region"] == "almaty")
            .and_then(|r| time(&r["latest"]["window"]["end"]));
        if status == 200
            && time(&v["data_end"]).is_some_and(|e| e >= want_end)
            && almaty.is_some_and(|e| e >= want_end - 600)
        {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("stream processed in {:?}", t0.elapsed());

    // The scenario: an alert for Almaty, open, and none for a calm region.
    let alerts = get(api, ANALYST, "/api/alerts").await;
    let alerts = alerts["alerts"].as_array().unwrap().clone();
    let regions: Vec<&str> = alerts.iter().filter_map(|a| a["region"].as_str()).collect();
    if !regions.contains(&"almaty") {
        let signals = get(api, ANALYST, "/api/signals?region=almaty").await;
        let rows: Vec<String> = signals["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} n={} hostility={} risk={} anomaly={} alert={}",
                    s["window"]["start"],
                    s["n_posts"],
                    s["hostility_rate"],
                    s["risk"],
                    s["anomaly"],
                    s["alert"]
                )
            })
            .collect();
        panic!("no alert for Almaty; its windows:\n{}", rows.join("\n"));
    }
    assert!(
        regions.iter().all(|r| *r == "almaty"),
        "a calm region raised an alert: {alerts:?}"
    );
    let alert = alerts.iter().find(|a| a["region"] == "almaty").unwrap();
    assert_eq!(
        alert["state"], "open",
        "nothing is confirmed without a review"
    );
    let alert_id = alert["id"].as_str().unwrap().to_string();

    // Roles: no token, 401; the wrong role, 403.
    let (s, _) = request_as(api, None, "GET", "/api/alerts", None).await;
    assert_eq!(s, 401);
    let (s, _) = request_as(api, Some(AUDITOR), "GET", "/api/alerts", None).await;
    assert_eq!(s, 403);
    let (s, _) = request_as(api, Some(ANALYST), "GET", "/api/audit/verify", None).await;
    assert_eq!(s, 403);
    let (s, _) = request_as(api, Some(OPERATOR), "GET", "/api/ops/health", None).await;
    assert_eq!(s, 200);

    let base = format!("http://{api}");
    let b = Browser::start();
    let long = Duration::from_secs(30);

    // The analyst signs in; the map shows the 20 regions, Almaty with numbers.
    b.goto(&format!("{base}/"));
    b.wait_until_js("return location.pathname === '/login'", long);
    b.type_into("#token", ANALYST);
    b.click("#login");
    b.wait_until_js(
        "return document.querySelectorAll('#map path.region[data-state]').length === 20",
        long,
    );
    assert_eq!(b.find_all("#map path.region").len(), 20);
    assert_eq!(
        b.attr("#map path.region[data-region='almaty']", "data-state")
            .as_deref(),
        Some("ok")
    );
    let suppressed = b
        .find_all("#map path.region[data-state='suppressed']")
        .len();
    eprintln!("{suppressed} regions shown as suppressed");
    b.wait_until_js(
        "return document.querySelectorAll('#alerts li.alert').length > 0",
        long,
    );
    b.screenshot("dashboard");

    // The region view: a hostility chart with data.
    b.click("#map path.region[data-region='almaty']");
    b.wait_until_js(
        "const v = document.querySelector('#region-view'); return !!v && v.dataset.region === 'almaty'",
        long,
    );
    b.wait_until_js(
        "const p = document.querySelector('#chart-hostility path.series'); return !!p && Number(p.getAttribute('data-points')) >= 3",
        long,
    );
    b.screenshot("region-almaty");

    // The analyst confirms the alert by clicking; the API then shows it confirmed.
    let item = format!("#alerts li.alert[data-alert-id='{alert_id}']");
    b.wait_until_js(
        &format!("return !!document.querySelector(\"{item}\")"),
        long,
    );
    b.exec(
        &format!("document.querySelector(\"{item}\").scrollIntoView()"),
        vec![],
    );
    b.type_into(
        format!("{item} textarea.reason").as_str(),
        "Matches field reports from Almaty",
    );
    // The run's analyst token is a shared one, so the form asks who reviews.
    b.type_into(format!("{item} input.reviewer").as_str(), "t.analyst");
    b.click(format!("{item} button.confirm").as_str());
    b.wait_until_js(
        &format!("const e = document.querySelector(\"{item}\"); return !!e && e.dataset.state === 'confirmed'"),
        long,
    );
    b.screenshot("alert-confirmed");
    let a = get(api, ANALYST, "/api/alerts?region=almaty").await;
    let a = a["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == alert_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(a["state"], "confirmed", "{a}");
    assert_eq!(a["review"]["reason"], "Matches field reports from Almaty");
    assert_eq!(a["review"]["analyst"], "t.analyst");

    // The auditor signs in; the workbench shows a verified chain.
    b.goto(&format!("{base}/login?next=/audit"));
    b.wait_until_js("return !!document.querySelector('#token')", long);
    b.type_into("#token", AUDITOR);
    b.click("#login");
    b.wait_until_js(
        "const s = document.querySelector('#chain-status'); return !!s && s.dataset.ok === 'true'",
        long,
    );
    assert!(
        b.text("#chain-status").contains("verified"),
        "{}",
        b.text("#chain-status")
    );
    b.screenshot("audit");
    drop(b);

    sigterm(&run.0);
    let mut run = run;
    let status = run.0.wait().unwrap();
    assert!(
        status.success(),
        "sarap run exit: {status:?}\n{}",
        logtail()
    );

    // The CLI on the log that run left: verify, sample, show, review, agreement.
    let st = ["--store", store.as_str()];
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify"];
        args.extend_from_slice(extra);
        sarap(&args)
    };
    let ok = verify(&st);
    let text = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(
        ok.status.success() && text.starts_with("verified: "),
        "{text}"
    );
    let mut args = vec!["audit", "sample", "--n", "6", "--by", "lang"];
    args.extend_from_slice(&st);
    let sample = sarap(&args);
    let lines: Vec<Value> = String::from_utf8_lossy(&sample.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let langs: std::collections::BTreeSet<&str> =
        lines.iter().filter_map(|l| l["lang"].as_str()).collect();
    assert!(
        langs.len() >= 3,
        "a sample by language covers kk, ru, en: {langs:?}"
    );
    let id = lines[0]["decision_id"].as_str().unwrap();
    let mut args = vec!["audit", "show", id];
    args.extend_from_slice(&st);
    let show = sarap(&args);
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["hash_ok"], true);
    assert!(shown["record"]["thresholds"]["hostility"].is_number());
    assert!(shown["record"]["policy_hash"]
        .as_str()
        .unwrap()
        .starts_with("pol-"));
    assert!(shown["cards"]["hostility"].is_object());
    let mut args = vec![
        "audit",
        "review",
        id,
        "--verdict",
        "disagree",
        "--note",
        "sarcasm, not hostility",
        "--auditor",
        "t.cli",
    ];
    args.extend_from_slice(&st);
    assert!(sarap(&args).status.success());
    let mut args = vec!["audit", "agreement"];
    args.extend_from_slice(&st);
    let agreement = String::from_utf8_lossy(&sarap(&args).stdout).to_string();
    assert!(agreement.contains("all    all"), "{agreement}");

    // Tampering: one stored record's score changed; verify names the first broken link.
    let db = format!("{}/sarap.db", dir.path().display());
    let py = Command::new("python3")
        .args([
            "-c",
            "import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             r=c.execute('SELECT chain, seq, record FROM audit_records ORDER BY chain, seq LIMIT 1 OFFSET 40').fetchone(); \
             v=json.loads(r[2]); v['scores']['hostility']=0.987654; \
             c.execute('UPDATE audit_records SET record=? WHERE chain=? AND seq=?', (json.dumps(v, ensure_ascii=False), r[0], r[1])); \
             c.commit(); print(r[1])",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let seq = String::from_utf8_lossy(&py.stdout).trim().to_string();
    let broken = verify(&st);
    let text = String::from_utf8_lossy(&broken.stdout).to_string();
    assert_eq!(broken.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("BROKEN") && text.contains(&format!("seq {seq} ")),
        "{text}"
    );
    assert!(text.contains("does not match its hash"), "{text}");
}
