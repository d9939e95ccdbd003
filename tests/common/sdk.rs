//! The official Alibaba Cloud Python SDKs (PrivateLink and PrivateZone) as
//! a client of the control API:
//! `tests/cloud_api/sdk.py` runs in the interpreter `EPDNS_SDK_PYTHON`
//! names (`.ci/run` creates a venv with the SDKs and sets it), else
//! `target/sdk-venv/bin/python3`; one JSON command a line in, one result a
//! line out, so that a test interleaves SDK calls with DNS queries.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use super::skip;

/// What the SDK raised: the cloud's error code, the HTTP status, the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkError {
    pub code: String,
    pub status: u16,
    pub message: String,
}

pub struct Sdk {
    api: SocketAddr,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Sdk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    std::env::var_os("EPDNS_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python3")
        })
}

impl Sdk {
    /// The SDK pointed at `api`; `None` (reported by `skip`) when the
    /// interpreter or the SDKs are missing.
    pub fn start(api: SocketAddr) -> Option<Sdk> {
        let python = python();
        let has_sdk = Command::new(&python)
            .args(["-c", "import alibabacloud_privatelink20200415"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_sdk {
            skip(&format!(
                "the Alibaba Cloud Python SDKs ({} with alibabacloud-privatelink20200415; .ci/run creates it)",
                python.display()
            ));
            return None;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cloud_api/sdk.py");
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SDK driver");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Some(Sdk {
            api,
            child,
            stdin,
            stdout,
        })
    }

    /// `action` with `request` (the API's parameter names), signed with
    /// lab-key / lab-secret.
    pub fn call(&mut self, action: &str, request: Value) -> Result<Value, SdkError> {
        self.call_with(action, request, json!({}))
    }

    /// A PrivateZone (2018-01-01) `action`.
    pub fn pvtz(&mut self, action: &str, request: Value) -> Result<Value, SdkError> {
        self.call_with(action, request, json!({"product": "pvtz"}))
    }

    /// The same with more of the driver's options (`key`, `secret`,
    /// `nonce`, `rpc`, `product`).
    pub fn call_with(
        &mut self,
        action: &str,
        request: Value,
        options: Value,
    ) -> Result<Value, SdkError> {
        let mut cmd = json!({
            "endpoint": self.api.to_string(),
            "action": action,
            "request": request,
        });
        for (k, v) in options.as_object().unwrap() {
            cmd[k] = v.clone();
        }
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("SDK driver: {e}: {line:?} (for {cmd})"));
        if v.get("fatal").is_some() {
            panic!("SDK driver failed on {cmd}: {v}");
        }
        Self::result(&v)
    }

    /// Every `(action, request)` at once, each from its own thread and
    /// connection; the results in the same order.
    pub fn parallel(&mut self, calls: &[(&str, Value)]) -> Vec<Result<Value, SdkError>> {
        let cmds: Vec<Value> = calls
            .iter()
            .map(|(action, request)| {
                json!({"endpoint": self.api.to_string(), "action": action, "request": request})
            })
            .collect();
        writeln!(self.stdin, "{}", json!({ "parallel": cmds })).unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        v["ok"]
            .as_array()
            .unwrap_or_else(|| panic!("SDK driver: {line}"))
            .iter()
            .map(Self::result)
            .collect()
    }

    fn result(v: &Value) -> Result<Value, SdkError> {
        if let Some(ok) = v.get("ok") {
            return Ok(ok.clone());
        }
        match v.get("error") {
            Some(e) => Err(SdkError {
                code: e["code"].as_str().unwrap_or_default().to_string(),
                status: e["status"].as_u64().unwrap_or_default() as u16,
                message: e["message"].as_str().unwrap_or_default().to_string(),
            }),
            None => panic!("SDK driver failed: {v}"),
        }
    }

    /// The error code a call must fail with.
    pub fn code(&mut self, action: &str, request: Value, options: Value) -> String {
        match self.call_with(action, request.clone(), options) {
            Ok(v) => panic!("{action} {request}: expected an error, got {v}"),
            Err(e) => e.code,
        }
    }
}
