//! Proves the browser-test harness (tests/support/browser.rs) against a real headless Chromium:
//! a tiny page served from this test, whose script must run for the test to pass.
//! Needs `scripts/setup-test-env chromium`.

#[path = "support/browser.rs"]
mod browser;

use browser::Browser;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// Everything the page shows after its load comes from its script: without JavaScript the
/// body stays `data-ready="no"` and the output stays "waiting".
const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>Harness page</title></head>
<body data-ready="no">
  <h1 id="heading">Harness</h1>
  <label>Name <input id="name" type="text" value="initial"></label>
  <button id="greet" data-state="idle">Greet</button>
  <p id="out">waiting</p>
  <ul id="items"><li>one</li><li>two</li><li>three</li></ul>
  <script>
    document.getElementById("greet").addEventListener("click", () => {
      // Late on purpose, so the test has to wait for it.
      setTimeout(() => {
        const name = document.getElementById("name").value;
        document.getElementById("out").textContent = "Hello, " + name + "!";
        document.getElementById("greet").dataset.state = "clicked";
        window.greetedAt = Date.now();
      }, 400);
    });
    document.getElementById("heading").textContent = "Harness (scripted)";
    console.error("harness: console error from the page");
    document.body.dataset.ready = "yes";
  </script>
</body>
</html>
"#;

/// Serves PAGE for every request on a loopback port, from a thread that lives with the test.
fn serve_page() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && !line.trim_end().is_empty() {
                line.clear();
            }
            let (status, body) = if request_line.starts_with("GET /page") {
                ("200 OK", PAGE)
            } else {
                ("404 Not Found", "not found")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn harness_drives_a_real_headless_chromium() {
    let addr = serve_page();
    let b = Browser::start();
    let url = format!("http://{addr}/page?x=1");
    b.goto(&url);
    assert_eq!(b.current_url(), url);
    assert_eq!(b.title(), "Harness page");

    // The page's own script ran (it rewrote the heading and marked the body).
    b.wait_until_js(
        "return document.body.dataset.ready === 'yes'",
        Duration::from_secs(10),
    );
    assert_eq!(b.text("#heading"), "Harness (scripted)");
    assert_eq!(b.attr("body", "data-ready").as_deref(), Some("yes"));

    // Finding.
    assert!(b.find("#no-such-element").is_none());
    let items = b.find_all("#items li");
    assert_eq!(items.len(), 3);
    assert_eq!(b.text(&items[1]), "two");
    assert!(b.find_all(".nothing").is_empty());

    // Typing replaces the initial value; the attribute keeps the markup's value.
    b.type_into("#name", "Sarap");
    assert_eq!(b.prop("#name", "value"), "Sarap");
    assert_eq!(b.attr("#name", "type").as_deref(), Some("text"));
    assert_eq!(b.attr("#name", "placeholder"), None);

    // Clicking runs the handler, which answers after a delay: wait for it.
    assert_eq!(b.text("#out"), "waiting");
    b.click("#greet");
    b.wait_until_js(
        "return document.getElementById('out').textContent !== 'waiting'",
        Duration::from_secs(10),
    );
    assert_eq!(b.text("#out"), "Hello, Sarap!");
    let greet = b.find("#greet").expect("the button");
    assert_eq!(b.attr(&greet, "data-state").as_deref(), Some("clicked"));
    b.wait_for("greetedAt is set", Duration::from_secs(5), || {
        b.exec("return typeof window.greetedAt === 'number'", vec![]) == true
    });

    // Scripts with arguments and element results.
    assert_eq!(
        b.exec(
            "return arguments[0] * arguments[1]",
            vec![6.into(), 7.into()]
        ),
        42
    );
    assert_eq!(
        b.exec("return window.innerWidth", vec![]),
        1400,
        "the window size argument reached the browser"
    );

    // The browser console's errors (goog:loggingPrefs).
    let errors = b.console_errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("harness: console error from the page")),
        "console errors: {errors:?}"
    );

    // A screenshot is a real PNG.
    let shot = b.screenshot("browser_harness");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        shot.display()
    );
    assert!(
        png.len() > 5_000,
        "{} is only {} bytes",
        shot.display(),
        png.len()
    );

    // A WebDriver error panics with the command and the driver's message.
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.exec("throw new Error('boom from the harness')", vec![])
    }));
    let message = panic_message(failed.expect_err("a throwing script must panic"));
    assert!(
        message.contains("execute/sync") && message.contains("boom from the harness"),
        "{message}"
    );

    // A wait that never comes true panics with its description and leaves a screenshot.
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.wait_until_js(
            "return window.neverSet === true",
            Duration::from_millis(600),
        )
    }));
    let message = panic_message(failed.expect_err("the wait must time out"));
    assert!(message.contains("window.neverSet === true"), "{message}");
    let shot = message
        .split("screenshot: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no screenshot in: {message}"));
    assert!(std::path::Path::new(shot.trim()).is_file(), "{message}");
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().unwrap_or(&"").to_string(),
    }
}
