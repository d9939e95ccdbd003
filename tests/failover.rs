//! Health probes drive failover and failback: real TCP/HTTP services on
//! loopback addresses stand for the ENIs; epdns probes them and its answers
//! follow. Plus the all-down policies, admin overrides, the admin API, the
//! degraded TTL and reloads that keep health.

mod common;

use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const ENIS: [&str; 3] = PROBED_ENIS;

fn config(port: u16) -> LabConfig {
    probed_lab(port)
}

struct Lab {
    s: Server,
    port: u16,
    enis: Vec<Option<FakeEni>>,
}

/// The lab with `server` keys added to the config; ENI `i` is alive when
/// `live[i]`.
fn lab_with(server: &str, live: [bool; 3]) -> Lab {
    let listeners = bind_same_port(&ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let enis = listeners
        .into_iter()
        .zip(live)
        .map(|(l, on)| on.then(|| FakeEni::serve(l)))
        .collect();
    let s = Server::start(&config(port).server(server));
    Lab { s, port, enis }
}

fn lab(server: &str) -> Lab {
    lab_with(server, [true; 3])
}

impl Lab {
    fn ask(&self) -> Message {
        self.s.udp(&endpoint("ep-lab1"), RecordType::A)
    }

    fn kill(&mut self, i: usize) {
        self.enis[i].take().expect("ENI was running").stop();
    }

    fn revive(&mut self, i: usize) {
        let addr = format!("{}:{}", ENIS[i], self.port).parse().unwrap();
        self.enis[i] = Some(FakeEni::start(addr));
    }

    fn wait_for(&self, want: &[&str], what: &str) -> Duration {
        wait_until(Duration::from_secs(3), what, || addrs(&self.ask()) == want)
    }

    /// Failed probes so far (every ENI).
    fn failed_probes(&self) -> u64 {
        self.s.metric(r#"epdns_probes_total{result="fail"}"#)
    }

    fn transitions(&self) -> u64 {
        self.s.metric("epdns_transitions_total")
    }

    /// Waits until ENI `i`'s service has accepted `n` more probes.
    fn probed_alive(&self, i: usize, n: u64) {
        let eni = self.enis[i].as_ref().expect("ENI is running");
        let from = eni.accepted();
        wait_until(Duration::from_secs(3), "probes of a live ENI", || {
            eni.accepted() >= from + n
        });
    }

    /// Waits until `/v1/status` shows the probes' own verdict on `ip` as
    /// `state` (whatever an override makes of it).
    fn probe_state(&self, ip: &str, state: &str) {
        wait_until(Duration::from_secs(3), "probe state", || {
            let (_, body) = http(self.s.admin(), "GET", "/v1/status", None);
            let status: serde_json::Value = serde_json::from_str(&body).unwrap();
            status["endpoints"][0]["zones"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|z| z["addresses"].as_array().unwrap())
                .any(|a| a["ip"] == ip && a["probe_state"] == state)
        });
    }
}

#[test]
fn dead_eni_leaves_the_answer_and_returns_when_it_recovers() {
    let mut lab = lab("");
    assert_eq!(addrs(&lab.ask()), ENIS);
    lab.kill(1);
    let took = lab.wait_for(&["127.0.1.10", "127.0.3.10"], "failover");
    assert!(took < Duration::from_secs(1), "failover took {took:?}");
    // The zone domain pins its zone: not filtered.
    let zd = lab
        .s
        .udp(&zone_domain("ep-lab1", "cn-hangzhou-i"), RecordType::A);
    assert_eq!(addrs(&zd), ["127.0.2.10"]);
    lab.revive(1);
    lab.wait_for(&ENIS, "failback");
}

#[test]
fn no_wrong_answer_before_the_first_probe() {
    // ENI i is dead from the start: the very first answer must not have it.
    let lab = lab_with("", [true, false, true]);
    assert_eq!(addrs(&lab.ask()), ["127.0.1.10", "127.0.3.10"]);
}

#[test]
fn a_single_lost_probe_does_not_flap() {
    let mut lab = lab("");
    // Five outages of ENI h that each fail exactly one probe: it is stopped
    // until a probe has failed on it, then restarted. fall = 2 must absorb
    // each (with fall = 1 each would take it out of the answer).
    let mut transitions = lab.transitions();
    let mut single = 0;
    for _ in 0..20 {
        let failed = lab.failed_probes();
        lab.kill(0);
        wait_until(Duration::from_secs(3), "a probe of the stopped ENI", || {
            lab.failed_probes() > failed
        });
        let during = lab.ask();
        lab.revive(0);
        // Two probes found it alive again: every probe of the outage is
        // counted by now.
        lab.probed_alive(0, 2);
        if lab.failed_probes() - failed > 1 {
            // The next probe (50 ms later) came before the restart, on a
            // slow machine: a real outage, not what this test is about. Let
            // it go down and come back, and try again.
            wait_until(Duration::from_secs(3), "down and back", || {
                lab.transitions() >= transitions + 2
            });
            lab.wait_for(&ENIS, "back after a longer outage");
            transitions = lab.transitions();
            continue;
        }
        assert_eq!(addrs(&during), ENIS, "answer after one lost probe");
        for _ in 0..10 {
            assert_eq!(addrs(&lab.ask()), ENIS);
        }
        assert_eq!(lab.transitions(), transitions, "one lost probe flapped");
        single += 1;
        if single == 5 {
            return;
        }
    }
    panic!("only {single} of 20 outages lost exactly one probe");
}

#[test]
fn all_down_fails_open_by_default() {
    let lab = lab_with("", [false; 3]);
    let m = lab.ask();
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(addrs(&m), ENIS);
}

#[test]
fn all_down_none_is_nodata_with_soa() {
    let lab = lab_with("all_down = \"none\"", [false; 3]);
    assert_negative(&lab.ask(), ResponseCode::NoError, 30);
}

#[test]
fn all_down_servfail() {
    let mut lab = lab("all_down = \"servfail\"");
    for i in 0..3 {
        lab.kill(i);
    }
    wait_until(Duration::from_secs(3), "SERVFAIL", || {
        lab.ask().metadata.response_code == ResponseCode::ServFail
    });
    lab.revive(2);
    lab.wait_for(&["127.0.3.10"], "back with one ENI");
}

#[test]
fn degraded_ttl_while_an_eni_is_down() {
    let mut lab = lab("degraded_ttl = 5");
    assert!(lab.ask().answers.iter().all(|r| r.ttl == 60));
    lab.kill(2);
    lab.wait_for(&["127.0.1.10", "127.0.2.10"], "failover");
    assert!(lab.ask().answers.iter().all(|r| r.ttl == 5));
    lab.revive(2);
    lab.wait_for(&ENIS, "failback");
    assert!(lab.ask().answers.iter().all(|r| r.ttl == 60));
}

#[test]
fn affinity_falls_back_when_the_clients_zone_eni_is_down() {
    let mut lab = lab("");
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A);
    let from_i = "127.0.2.50".parse().unwrap();
    assert_eq!(addrs(&lab.s.udp_from(from_i, &q)), ["127.0.2.10"]);
    lab.kill(1);
    wait_until(Duration::from_secs(3), "fallback", || {
        addrs(&lab.s.udp_from(from_i, &q)) == ["127.0.1.10", "127.0.3.10"]
    });
    lab.revive(1);
    wait_until(Duration::from_secs(3), "back to own zone", || {
        addrs(&lab.s.udp_from(from_i, &q)) == ["127.0.2.10"]
    });
}

const OVERRIDE: &str = "/v1/endpoints/ep-lab1/zones/cn-hangzhou-i/override";

#[test]
fn admin_override_wins_over_probes_until_cleared() {
    let mut lab = lab("");
    let admin = lab.s.admin();
    let (code, body) = http(admin, "PUT", OVERRIDE, Some(r#"{"state":"down"}"#));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"override\":\"down\""), "{body}");
    lab.wait_for(&["127.0.1.10", "127.0.3.10"], "override down");
    // Probes keep succeeding (three more reach ENI i), the override holds.
    lab.probed_alive(1, 3);
    assert_eq!(addrs(&lab.ask()), ["127.0.1.10", "127.0.3.10"]);

    // Forced up while really dead.
    lab.kill(1);
    let (code, _) = http(admin, "PUT", OVERRIDE, Some(r#"{"state":"up"}"#));
    assert_eq!(code, 200);
    lab.wait_for(&ENIS, "override up");
    // The probes find it dead, the override holds.
    lab.probe_state(ENIS[1], "down");
    assert_eq!(addrs(&lab.ask()), ENIS);

    // Cleared: the probes decide again (it is dead).
    let (code, _) = http(admin, "DELETE", OVERRIDE, None);
    assert_eq!(code, 200);
    lab.wait_for(&["127.0.1.10", "127.0.3.10"], "override cleared");
}

#[test]
fn admin_override_works_on_unprobed_endpoints() {
    // No probes at all: chaos tests still drive failover by hand.
    let s = Server::start(&base_lab());
    let admin = s.admin();
    let path = "/v1/endpoints/ep-lab1/zones/cn-hangzhou-h/override";
    assert_eq!(http(admin, "PUT", path, Some(r#"{"state":"down"}"#)).0, 200);
    wait_until(Duration::from_secs(3), "unprobed override", || {
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)) == ["127.0.2.10"]
    });
    assert_eq!(http(admin, "DELETE", path, None).0, 200);
    wait_until(Duration::from_secs(3), "cleared", || {
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)).len() == 2
    });
}

#[test]
fn admin_api_rejects_bad_requests_with_clear_errors() {
    let lab = lab("");
    let (code, body) = http(
        lab.s.admin(),
        "PUT",
        "/v1/endpoints/ep-nope/zones/cn-hangzhou-i/override",
        Some(r#"{"state":"down"}"#),
    );
    assert_eq!(code, 404);
    assert!(body.contains("ep-nope"), "{body}");
    let (code, body) = http(
        lab.s.admin(),
        "PUT",
        OVERRIDE,
        Some(r#"{"state":"sideways"}"#),
    );
    assert_eq!(code, 400);
    assert!(
        body.contains("body.state") && body.contains("sideways"),
        "{body}"
    );
    let (code, body) = http(lab.s.admin(), "PUT", OVERRIDE, Some("not json"));
    assert_eq!(code, 400);
    assert!(body.contains("body"), "{body}");
    // Nothing changed.
    assert_eq!(addrs(&lab.ask()), ENIS);
}

#[test]
fn status_events_and_metrics_describe_what_happened() {
    let mut lab = lab("");
    lab.kill(0);
    lab.wait_for(&["127.0.2.10", "127.0.3.10"], "failover");

    let (code, body) = http(lab.s.admin(), "GET", "/v1/status", None);
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ep = &status["endpoints"][0];
    assert_eq!(ep["id"], "ep-lab1");
    assert_eq!(ep["domain"], endpoint("ep-lab1"));
    let zones = ep["zones"].as_array().unwrap();
    assert_eq!(zones.len(), 3);
    let h = zones.iter().find(|z| z["zone"] == "cn-hangzhou-h").unwrap();
    let addr = &h["addresses"][0];
    assert_eq!(addr["ip"], "127.0.1.10");
    assert_eq!(addr["state"], "down");
    assert_eq!(addr["probed"], true);
    assert_eq!(addr["last_probe"]["ok"], false);
    assert!(addr["since_unix_ms"].as_u64().unwrap() > 0);
    let i = zones.iter().find(|z| z["zone"] == "cn-hangzhou-i").unwrap();
    assert_eq!(i["addresses"][0]["state"], "up");

    let (_, body) = http(lab.s.admin(), "GET", "/v1/events", None);
    let events: serde_json::Value = serde_json::from_str(&body).unwrap();
    let down = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ip"] == "127.0.1.10" && e["to"] == "down")
        .expect("a transition event for the dead ENI");
    assert_eq!(down["endpoint"], "ep-lab1");
    assert_eq!(down["zone"], "cn-hangzhou-h");
    assert_eq!(down["from"], "up");
    assert!(!down["reason"].as_str().unwrap().is_empty());

    let (code, text) = http(lab.s.admin(), "GET", "/metrics", None);
    assert_eq!(code, 200);
    for needle in [
        "epdns_queries_total{rcode=\"NOERROR\"}",
        "epdns_probes_total",
        "epdns_transitions_total",
        "epdns_snapshots_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // Two more answers, two more counted (each is counted before it is sent).
    let noerror = r#"epdns_queries_total{rcode="NOERROR"}"#;
    let before = lab.s.metric(noerror);
    lab.ask();
    lab.ask();
    assert_eq!(lab.s.metric(noerror), before + 2, "queries counted");
}

#[test]
fn reload_keeps_the_health_of_unchanged_enis() {
    let mut lab = lab("");
    lab.kill(1);
    lab.wait_for(&["127.0.1.10", "127.0.3.10"], "failover");
    // A reload that changes something else (the TTL): ENI i stays down at
    // once, with no window where it is answered again: not in any answer
    // until its probes have failed twice more (what a reset health would
    // need to take it out again).
    assert_eq!(
        lab.s.reload(&config(lab.port).server("ttl = 61")),
        Reload::Ok
    );
    assert!(lab.ask().answers.first().is_some_and(|r| r.ttl == 61));
    let failed = lab.failed_probes();
    while lab.failed_probes() < failed + 2 {
        assert_eq!(addrs(&lab.ask()), ["127.0.1.10", "127.0.3.10"]);
    }
    // An override survives the reload too.
    assert_eq!(
        http(
            lab.s.admin(),
            "PUT",
            "/v1/endpoints/ep-lab1/zones/cn-hangzhou-h/override",
            Some(r#"{"state":"down"}"#)
        )
        .0,
        200
    );
    lab.wait_for(&["127.0.3.10"], "override");
    assert_eq!(
        lab.s.reload(&config(lab.port).server("ttl = 62")),
        Reload::Ok
    );
    assert!(lab.ask().answers.first().is_some_and(|r| r.ttl == 62));
    assert_eq!(addrs(&lab.ask()), ["127.0.3.10"]);
}

/// A tiny HTTP server whose status the test sets.
struct FakeHttp {
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    _thread: std::thread::JoinHandle<()>,
}

fn fake_http(l: std::net::TcpListener) -> FakeHttp {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU16, Ordering};
    let status = std::sync::Arc::new(AtomicU16::new(200));
    let st = status.clone();
    let thread = std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = c.read(&mut buf);
            let code = st.load(Ordering::Relaxed);
            let _ = write!(
                c,
                "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    FakeHttp {
        status,
        _thread: thread,
    }
}

#[test]
fn http_probe_follows_the_status_code() {
    let listeners = bind_same_port(&ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let servers: Vec<FakeHttp> = listeners.into_iter().map(fake_http).collect();
    let s = Server::start(&config(port).probe(
        r#"kind = "http"
           path = "/healthz"
           expect = ["200-299"]"#,
    ));
    let ask = || addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A));
    assert_eq!(ask(), ENIS);
    servers[2]
        .status
        .store(503, std::sync::atomic::Ordering::Relaxed);
    wait_until(Duration::from_secs(3), "503 takes it down", || {
        ask() == ["127.0.1.10", "127.0.2.10"]
    });
    servers[2]
        .status
        .store(204, std::sync::atomic::Ordering::Relaxed);
    wait_until(Duration::from_secs(3), "204 brings it back", || {
        ask() == ENIS
    });
}
