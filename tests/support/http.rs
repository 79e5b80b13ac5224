//! A minimal HTTP/1.1 client for API tests (one request per connection, JSON bodies).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// The analyst's token of the tests' servers.
pub const ANALYST: &str = "test-analyst-token-0123456789abcdef";
/// The auditor's token (named: reviews record "t.auditor").
pub const AUDITOR: &str = "test-auditor-token-0123456789abcdef";
/// The operator's token.
pub const OPERATOR: &str = "test-operator-token-0123456789abcdef";

/// The tokens above, as a sink serves them.
pub fn test_auth() -> sarap_sink::auth::Auth {
    use sarap_sink::auth::{Auth, Role};
    Auth::from_secrets(&[
        (Role::Analyst, Some(ANALYST.into())),
        (Role::Auditor, Some(format!("t.auditor:{AUDITOR}"))),
        (Role::Operator, Some(OPERATOR.into())),
    ])
    .unwrap()
}

/// Sends one request as the analyst (see [`request_as`]).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    request_as(addr, Some(ANALYST), method, path, body).await
}

/// Sends one request with a bearer token (none: anonymous), blocking I/O on a blocking thread;
/// returns the status and the body parsed as JSON (Null when it is not JSON).
pub async fn request_as(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let (status, _, text) = raw(addr, token, method, path, body).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// Sends one request; returns the status, the response head and the body as text.
pub async fn raw(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (method, path, body) = (
        method.to_string(),
        path.to_string(),
        body.unwrap_or("").to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect to the API");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
            "chunked responses are not handled by this test client"
        );
        (status, head.to_string(), payload.to_string())
    })
    .await
    .expect("the request thread")
}

/// GET, expecting 200; returns the JSON body.
pub async fn get_ok(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, v) = request(addr, "GET", path, None).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}
