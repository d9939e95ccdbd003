//! The live health dashboard in a real headless Chromium, driven through
//! ChromeDriver's WebDriver protocol: the page shows every ENI, a failure
//! set through the admin API reaches the row live (server-sent events, no
//! polling), and a click on the row's button changes the DNS answer. A
//! screenshot is kept in `target/test-artifacts/dashboard.png`.
//!
//! Chromium talks only to the server on 127.0.0.1: background networking,
//! updates and sync are switched off.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

/// Chromium's path, from `PATH`.
fn chromium() -> String {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .expect("require_tools checked it")
        .display()
        .to_string()
}

/// ChromeDriver with one headless Chromium session; both stop on drop.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Option<Browser> {
        if !require_tools(&["chromium", "chromedriver"]) {
            return None;
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        wait_until(Duration::from_secs(10), "chromedriver listening", || {
            TcpStream::connect(addr).is_ok()
        });
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,900",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium(), "args": args },
        }}});
        let reply = browser.call("POST", "/session", Some(caps));
        browser.session = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_string();
        Some(browser)
    }

    /// One WebDriver command; returns its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        // ChromeDriver keeps the connection open: read the head, then
        // Content-Length bytes.
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            reply.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&reply).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length: {head}"));
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
        assert!(
            v["value"].get("error").is_none(),
            "{method} {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    fn session(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, url: &str) {
        self.call("POST", &self.session("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` in the page and returns what it returns.
    fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn click(&self, css: &str) {
        let found = self.call(
            "POST",
            &self.session("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string();
        self.call(
            "POST",
            &self.session(&format!("/element/{id}/click")),
            Some(json!({})),
        );
    }

    fn screenshot(&self, to: &Path) {
        let png = self.call("GET", &self.session("/screenshot"), None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &self.session(""), None)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The state the page shows for one zone row: `data-state` and the badge.
fn row(browser: &Browser, endpoint: &str, zone: &str) -> (String, String) {
    let v = browser.eval(&format!(
        "const r = document.querySelector('tr.zone[data-endpoint=\"{endpoint}\"][data-zone=\"{zone}\"]');
         return r ? [r.dataset.state, r.querySelector('.badge').textContent] : ['', ''];"
    ));
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn the_dashboard_shows_failures_live_and_its_buttons_change_the_answer() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start(&base_lab());
    let admin = server.admin();
    browser.open(&format!("http://{admin}/"));
    wait_until(
        Duration::from_secs(10),
        "the page is live with every row",
        || {
            browser.eval("return document.getElementById('live').textContent") == "live"
                && row(&browser, "ep-lab1", "cn-hangzhou-h").0 == "up"
        },
    );
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('tr.zone').length")
            .as_u64(),
        Some(5),
        "ep-lab1 and ep-lab6 in two zones, ep-xr1 in one"
    );

    // A failure set through the API reaches the open page without a reload.
    let path = "/v1/endpoints/ep-lab1/zones/cn-hangzhou-h/override";
    let sent = Instant::now();
    assert_eq!(http(admin, "PUT", path, Some(r#"{"state":"down"}"#)).0, 200);
    let took = wait_until(Duration::from_secs(2), "the row shows the failure", || {
        row(&browser, "ep-lab1", "cn-hangzhou-h") == ("down".into(), "forced down".into())
    });
    eprintln!(
        "dashboard: row changed {took:?} after the API call ({:?} with the call)",
        sent.elapsed()
    );
    wait_until(
        Duration::from_secs(2),
        "the timeline shows the transition",
        || {
            browser
                .eval("return document.getElementById('timeline').textContent")
                .as_str()
                .unwrap_or_default()
                .contains("ep-lab1 / cn-hangzhou-h / 127.0.1.10: up → down")
        },
    );

    // The row's button is the admin API too: the DNS answer follows.
    assert_eq!(
        addrs(&server.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.2.10"]
    );
    browser.click("tr.zone[data-endpoint=\"ep-lab1\"][data-zone=\"cn-hangzhou-h\"] button[data-action=\"clear\"]");
    browser.click("tr.zone[data-endpoint=\"ep-lab1\"][data-zone=\"cn-hangzhou-i\"] button[data-action=\"down\"]");
    wait_until(
        Duration::from_secs(5),
        "the answer follows the clicks",
        || addrs(&server.udp(&endpoint("ep-lab1"), RecordType::A)) == ["127.0.1.10"],
    );
    wait_until(Duration::from_secs(2), "the rows follow the clicks", || {
        row(&browser, "ep-lab1", "cn-hangzhou-h") == ("up".into(), "up".into())
            && row(&browser, "ep-lab1", "cn-hangzhou-i") == ("down".into(), "forced down".into())
    });
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts/dashboard.png");
    browser.screenshot(&shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a real PNG");
    eprintln!("dashboard: screenshot in {}", shot.display());
}
