//! SIGHUP reloads the config: a valid one swaps in without dropping queries, an
//! invalid one is refused and the old config keeps serving.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Polls until `check` holds for the answer, or panics after 5 s.
fn eventually(s: &Server, name: &str, check: impl Fn(&hickory_proto::op::Message) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = s.udp(name, RecordType::A);
        if check(&m) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never reached: last answer {m:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn valid_reload_swaps_in_new_answers() {
    let s = Server::start(BASE);
    let changed = BASE.replace("ip = \"127.0.2.10\"", "ip = \"127.0.2.99\"");
    s.reload(&changed);
    eventually(&s, &endpoint("ep-lab1"), |m| {
        addrs(m) == ["127.0.1.10", "127.0.2.99"]
    });
    let removed = changed.replace("id = \"ep-lab6\"", "id = \"ep-lab7\"");
    s.reload(&removed);
    eventually(&s, &endpoint("ep-lab6"), |m| {
        m.metadata.response_code == ResponseCode::NXDomain
    });
}

#[test]
fn invalid_reload_keeps_the_old_config_serving() {
    let s = Server::start(BASE);
    // A reserved address: rejected by validation.
    s.reload(&BASE.replace("ip = \"127.0.2.10\"", "ip = \"127.0.2.255\""));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // Broken TOML: same.
    s.reload("[server\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // And a later valid reload still works.
    s.reload(
        &BASE
            .replace("ip = \"127.0.2.10\"", "ip = \"127.0.2.11\"")
            .replace(
                "{ vswitch = \"vsw-i\", ip = \"127.0.2.11\", ipv6",
                "{ vswitch = \"vsw-i\", ip = \"127.0.2.12\", ipv6",
            ),
    );
    eventually(&s, &endpoint("ep-lab1"), |m| {
        addrs(m) == ["127.0.1.10", "127.0.2.11"]
    });
}
