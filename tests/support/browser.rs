//! A small W3C WebDriver client for browser tests: starts ChromeDriver on a free loopback port,
//! which starts a headless Chromium with a throwaway profile, and speaks the WebDriver protocol
//! over blocking HTTP/1.1 (one request per connection, JSON bodies).
//!
//! The binaries come from `scripts/setup-test-env chromium` (Debian's `chromium` and
//! `chromium-driver`); SARAP_CHROMIUM / SARAP_CHROMEDRIVER may point to others of the same
//! major version. Every WebDriver error panics with the command and the driver's message; a
//! timed-out wait, or a test that panics while the browser is open, leaves a screenshot under
//! `artifacts/screenshots/` and keeps ChromeDriver's log (both paths are printed).
#![allow(dead_code)]

use base64::Engine as _;
use serde_json::{json, Value};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver returns a web element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long one WebDriver command may take before the test fails (page loads and scripts have
/// their own, shorter session timeouts).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
const SETUP_HINT: &str = "run `scripts/setup-test-env chromium` (Debian's chromium and \
     chromium-driver), or set SARAP_CHROMIUM and SARAP_CHROMEDRIVER to a matching pair";

/// A web element reference within the current page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementId(pub String);

/// Something that designates one element: a CSS selector (which must match) or an element.
pub trait Locator {
    fn locate(&self, browser: &Browser) -> ElementId;
}

impl Locator for &str {
    fn locate(&self, browser: &Browser) -> ElementId {
        browser
            .find(self)
            .unwrap_or_else(|| panic!("no element matches the CSS selector {self:?}"))
    }
}

impl Locator for String {
    fn locate(&self, browser: &Browser) -> ElementId {
        self.as_str().locate(browser)
    }
}

impl Locator for &String {
    fn locate(&self, browser: &Browser) -> ElementId {
        self.as_str().locate(browser)
    }
}

impl Locator for ElementId {
    fn locate(&self, _: &Browser) -> ElementId {
        self.clone()
    }
}

impl Locator for &ElementId {
    fn locate(&self, _: &Browser) -> ElementId {
        (*self).clone()
    }
}

/// A WebDriver error: the command, and the `error` and `message` of the driver's answer (or
/// what went wrong on the connection).
#[derive(Debug)]
struct DriverError {
    error: String,
    message: String,
}

/// A headless Chromium driven through its own ChromeDriver; dropping it ends the session and
/// kills ChromeDriver together with the browser.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    log: PathBuf,
    log_dir: Option<tempfile::TempDir>,
    _profile: tempfile::TempDir,
    failure_shot_taken: Cell<bool>,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session (window 1400×1000).
    pub fn start() -> Browser {
        let driver_bin = find_chromedriver();
        let chromium_bin = find_chromium();
        let log_dir = tempfile::Builder::new()
            .prefix("sarap-chromedriver-")
            .tempdir()
            .expect("a temp folder for ChromeDriver's log");
        let log = log_dir.path().join("chromedriver.log");
        let profile = tempfile::Builder::new()
            .prefix("sarap-chromium-profile-")
            .tempdir()
            .expect("a temp folder for the Chromium profile");
        let port = free_port();
        let mut cmd = Command::new(&driver_bin);
        cmd.arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that Drop can kill ChromeDriver and every browser process.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let driver = cmd.spawn().unwrap_or_else(|e| {
            panic!("{} does not start: {e}; {SETUP_HINT}", driver_bin.display())
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            log,
            log_dir: Some(log_dir),
            _profile: profile,
            failure_shot_taken: Cell::new(false),
        };
        browser.wait_ready();

        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-background-networking".to_string(),
            "--no-first-run".to_string(),
            "--window-size=1400,1000".to_string(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "goog:chromeOptions": {
                        "binary": chromium_bin.to_string_lossy(),
                        "args": args,
                    },
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
                    "unhandledPromptBehavior": "accept",
                }
            }
        });
        let created = browser
            .try_cmd("POST", "/session", Some(&caps))
            .unwrap_or_else(|e| {
                panic!(
                    "WebDriver POST /session (starting {}) failed: {}: {}\n{SETUP_HINT}\n{}",
                    chromium_bin.display(),
                    e.error,
                    e.message,
                    browser.log_tail()
                )
            });
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("POST /session answered without a sessionId: {created}"))
            .to_string();
        browser
    }

    /// ChromeDriver's log file (kept after a failed test).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "url", json!({ "url": url }));
    }

    pub fn current_url(&self) -> String {
        self.cmd("GET", "url", Value::Null)
            .as_str()
            .expect("the URL as a string")
            .to_string()
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "title", Value::Null)
            .as_str()
            .expect("the title as a string")
            .to_string()
    }

    /// The first element matching a CSS selector, or None.
    pub fn find(&self, css: &str) -> Option<ElementId> {
        let body = json!({ "using": "css selector", "value": css });
        match self.try_session_cmd("POST", "element", Some(&body)) {
            Ok(v) => Some(element_id(&v)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => self.fail(&format!("POST element (CSS {css:?})"), e),
        }
    }

    /// Every element matching a CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Vec<ElementId> {
        let v = self.cmd(
            "POST",
            "elements",
            json!({ "using": "css selector", "value": css }),
        );
        v.as_array()
            .expect("an array of elements")
            .iter()
            .map(element_id)
            .collect()
    }

    pub fn click(&self, target: impl Locator) {
        let el = target.locate(self);
        self.cmd("POST", &format!("element/{}/click", el.0), json!({}));
    }

    /// Clears an input, then types `text` into it.
    pub fn type_into(&self, target: impl Locator, text: &str) {
        let el = target.locate(self);
        self.cmd("POST", &format!("element/{}/clear", el.0), json!({}));
        self.cmd(
            "POST",
            &format!("element/{}/value", el.0),
            json!({ "text": text }),
        );
    }

    /// An attribute of the element (None when it has none). For the live state of a form
    /// control (what was typed, `checked`), use [`Browser::prop`].
    pub fn attr(&self, target: impl Locator, name: &str) -> Option<String> {
        let el = target.locate(self);
        match self.cmd(
            "GET",
            &format!("element/{}/attribute/{name}", el.0),
            Value::Null,
        ) {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    /// A DOM property of the element (e.g. `value` of an input), as JSON.
    pub fn prop(&self, target: impl Locator, name: &str) -> Value {
        let el = target.locate(self);
        self.cmd(
            "GET",
            &format!("element/{}/property/{name}", el.0),
            Value::Null,
        )
    }

    /// The element's rendered text.
    pub fn text(&self, target: impl Locator) -> String {
        let el = target.locate(self);
        self.cmd("GET", &format!("element/{}/text", el.0), Value::Null)
            .as_str()
            .expect("the text as a string")
            .to_string()
    }

    /// Runs `js` as the body of a function (`return …` gives the result; `arguments[i]` are
    /// `args`) and returns its result.
    pub fn exec(&self, js: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({ "script": js, "args": args }),
        )
    }

    /// Polls `condition` every 200 ms until it holds; after `timeout` saves a screenshot and
    /// panics with `description`.
    pub fn wait_for(
        &self,
        description: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            if condition() {
                return;
            }
            if Instant::now() >= deadline {
                self.timed_out(description, timeout, None);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Polls a JavaScript expression (a function body returning a boolean, e.g.
    /// `return document.querySelectorAll('tr').length > 3`) every 200 ms until it returns true;
    /// a script error counts as false (and is reported if the wait times out).
    pub fn wait_until_js(&self, js: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let body = json!({ "script": js, "args": [] });
        loop {
            let last = match self.try_session_cmd("POST", "execute/sync", Some(&body)) {
                Ok(Value::Bool(true)) => return,
                Ok(v) => format!("last result: {v}"),
                Err(e) => format!("last error: {}: {}", e.error, e.message),
            };
            if Instant::now() >= deadline {
                self.timed_out(js, timeout, Some(&last));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves a PNG of the viewport to `artifacts/screenshots/<name>.png` (characters other
    /// than letters, digits, `-`, `_` and `.` become `_`) and returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.try_screenshot(name)
            .unwrap_or_else(|e| panic!("screenshot {name:?} failed: {e}"))
    }

    /// The browser console's error entries (level SEVERE: console.error, uncaught exceptions,
    /// failed loads) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let v = self.cmd("POST", "se/log", json!({ "type": "browser" }));
        v.as_array()
            .expect("an array of log entries")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    // -----------------------------------------------------------------------------------------

    /// A command on the session (`path` relative to /session/{id}/); panics on an error.
    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let body = (method == "POST").then_some(&body);
        match self.try_session_cmd(method, path, body) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{method} {path}"), e),
        }
    }

    fn fail(&self, command: &str, e: DriverError) -> ! {
        panic!(
            "WebDriver {command} failed: {}: {}",
            e.error,
            e.message.lines().next().unwrap_or_default()
        )
    }

    fn try_session_cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DriverError> {
        self.try_cmd(method, &format!("/session/{}/{path}", self.session), body)
    }

    /// One WebDriver request; the answer's `value`, or its error.
    fn try_cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DriverError> {
        let conn = |message: String| DriverError {
            error: "connection".into(),
            message,
        };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, payload) =
            http(self.addr, method, path, &body, COMMAND_TIMEOUT).map_err(conn)?;
        let v: Value = serde_json::from_slice(&payload).map_err(|e| {
            conn(format!(
                "HTTP {status}, not JSON ({e}): {}",
                String::from_utf8_lossy(&payload)
            ))
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status == 200 {
            return Ok(value);
        }
        Err(DriverError {
            error: value["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}")),
            message: value["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
        })
    }

    fn try_screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let v = self
            .try_session_cmd("GET", "screenshot", None)
            .map_err(|e| format!("{}: {}", e.error, e.message))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().ok_or("the screenshot is not a string")?)
            .map_err(|e| format!("the screenshot is not base64: {e}"))?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/screenshots");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.png", file_name(name)));
        std::fs::write(&path, png).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    fn timed_out(&self, description: &str, timeout: Duration, detail: Option<&str>) -> ! {
        let name = format!("timeout-{}", file_name(description));
        let shot = match self.try_screenshot(&name) {
            Ok(p) => format!("screenshot: {}", p.display()),
            Err(e) => format!("no screenshot ({e})"),
        };
        self.failure_shot_taken.set(true);
        let detail = detail.map(|d| format!("; {d}")).unwrap_or_default();
        panic!("timed out after {timeout:?} waiting for: {description}{detail}\n{shot}")
    }

    /// Waits (up to 20 s) until ChromeDriver's /status says it is ready.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!(
                    "chromedriver exited while starting ({status}); {SETUP_HINT}\n{}",
                    self.log_tail()
                );
            }
            if let Ok(v) = self.try_cmd("GET", "/status", None) {
                if v["ready"] == true {
                    return;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver on {} not ready after 20 s\n{}",
                    self.addr,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of ChromeDriver's log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!(
            "chromedriver log {} (last lines):\n{tail}",
            self.log.display()
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if !self.session.is_empty() {
            if panicking && !self.failure_shot_taken.get() {
                let test = std::thread::current()
                    .name()
                    .unwrap_or("browser")
                    .to_string();
                if let Ok(p) = self.try_screenshot(&format!("panic-{test}")) {
                    eprintln!("browser screenshot at the failure: {}", p.display());
                }
            }
            let path = format!("/session/{}", self.session);
            let _ = http(self.addr, "DELETE", &path, "", Duration::from_secs(10));
        }
        // ChromeDriver leads its own process group; kill the group so no browser outlives it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if panicking {
            if let Some(dir) = self.log_dir.take() {
                let _ = dir.keep();
                eprintln!("chromedriver log kept at {}", self.log.display());
            }
        }
    }
}

fn element_id(v: &Value) -> ElementId {
    ElementId(
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not a web element reference: {v}"))
            .to_string(),
    )
}

fn file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if s.is_empty() {
        "screenshot".into()
    } else {
        s
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn find_chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("SARAP_CHROMEDRIVER") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "SARAP_CHROMEDRIVER={} does not exist; {SETUP_HINT}",
            p.display()
        );
        return p;
    }
    let debian = PathBuf::from("/usr/bin/chromedriver");
    if debian.is_file() {
        return debian;
    }
    on_path("chromedriver").unwrap_or_else(|| {
        panic!("chromedriver not found (SARAP_CHROMEDRIVER, /usr/bin/chromedriver, PATH); {SETUP_HINT}")
    })
}

fn find_chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("SARAP_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "SARAP_CHROMIUM={} does not exist; {SETUP_HINT}",
            p.display()
        );
        return p;
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return debian;
    }
    on_path("chromium").unwrap_or_else(|| {
        panic!("Chromium not found (SARAP_CHROMIUM, /usr/bin/chromium, PATH); {SETUP_HINT}")
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// One HTTP/1.1 request on its own connection; the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let err = |what: &str, e: std::io::Error| format!("{method} {path}: {what}: {e}");
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| err("connect", e))?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| err("write", e))?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| err("read", e))?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: not an HTTP response: {line:?}"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        r.read_line(&mut line).map_err(|e| err("read", e))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut payload = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| err("read", e))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("{method} {path}: bad chunk size {line:?}"))?;
            if size == 0 {
                break;
            }
            let start = payload.len();
            payload.resize(start + size, 0);
            r.read_exact(&mut payload[start..])
                .map_err(|e| err("read", e))?;
            line.clear();
            r.read_line(&mut line).map_err(|e| err("read", e))?;
        }
    } else if let Some(n) = length {
        payload.resize(n, 0);
        r.read_exact(&mut payload).map_err(|e| err("read", e))?;
    } else {
        r.read_to_end(&mut payload).map_err(|e| err("read", e))?;
    }
    Ok((status, payload))
}
