//! Admin overrides kept across restarts when a state store is configured
//! (the control API's embedded store here; etcd in tests/replicas.rs): an
//! override set before a kill -9 is in force when the server answers
//! again, and a cleared one stays cleared.

mod common;

use std::time::Duration;

use common::*;
use hickory_proto::rr::RecordType;

const PATH: &str = "/v1/endpoints/ep-lab1/zones/cn-hangzhou-i/override";

fn lab1(s: &Server) -> Vec<String> {
    addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A))
}

/// Waits until `s` answers ep-lab1 with `want` (an override reaches the
/// answers when the control loop publishes the health change).
fn wait_answer(s: &Server, want: &[&str]) {
    wait_until(
        Duration::from_secs(30),
        "the answer follows the override",
        || lab1(s) == want,
    );
}

#[test]
fn an_override_survives_kill_9_and_a_cleared_one_stays_cleared() {
    let listeners = bind_same_port(&PROBED_ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let _enis: Vec<FakeEni> = listeners.into_iter().map(FakeEni::serve).collect();
    let state = tempfile::tempdir().unwrap();
    let config = probed_lab(port)
        .api("listen = \"127.0.0.1:0\"")
        .access_key("lab-key", "lab-secret")
        .state(&state.path().display().to_string());

    let mut s = Server::start(&config);
    assert_eq!(lab1(&s), PROBED_ENIS);
    let (code, body) = http(s.admin(), "PUT", PATH, Some(r#"{"state": "down"}"#));
    assert_eq!(code, 200, "{body}");
    wait_answer(&s, &[PROBED_ENIS[0], PROBED_ENIS[2]]);
    s.kill();

    // In force from the first answer after the restart.
    let mut s = Server::start(&config);
    assert_eq!(lab1(&s), [PROBED_ENIS[0], PROBED_ENIS[2]]);
    let (code, body) = http(s.admin(), "DELETE", PATH, None);
    assert_eq!(code, 200, "{body}");
    wait_answer(&s, &PROBED_ENIS);
    s.kill();

    let s = Server::start(&config);
    assert_eq!(lab1(&s), PROBED_ENIS);
}

#[test]
fn without_a_state_store_an_override_lasts_until_the_process_ends() {
    let listeners = bind_same_port(&PROBED_ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let _enis: Vec<FakeEni> = listeners.into_iter().map(FakeEni::serve).collect();
    let config = probed_lab(port);
    let mut s = Server::start(&config);
    let (code, body) = http(s.admin(), "PUT", PATH, Some(r#"{"state": "down"}"#));
    assert_eq!(code, 200, "{body}");
    wait_answer(&s, &[PROBED_ENIS[0], PROBED_ENIS[2]]);
    s.kill();
    let s = Server::start(&config);
    assert_eq!(lab1(&s), PROBED_ENIS);
}
