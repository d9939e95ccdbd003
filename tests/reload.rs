//! SIGHUP reloads the config: a valid one swaps in without dropping queries, an
//! invalid one is refused and the old config keeps serving. Each reload is
//! awaited through `epdns_reloads_total`, so an assertion that the answer did
//! not change is made after the server has really refused the config.

mod common;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn valid_reload_swaps_in_new_answers() {
    let s = Server::start(&base_lab());
    let changed = base_lab().eni("ep-lab1", "vsw-i", "127.0.2.99");
    assert_eq!(s.reload(&changed), Reload::Ok);
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.99"]
    );
    let removed = changed.edit("endpoint", "ep-lab6", r#"id = "ep-lab7""#);
    assert_eq!(s.reload(&removed), Reload::Ok);
    assert_rcode(
        &s.udp(&endpoint("ep-lab6"), RecordType::A),
        ResponseCode::NXDomain,
    );
}

#[test]
fn invalid_reload_keeps_the_old_config_serving() {
    let s = Server::start(&base_lab());
    let snapshots = s.metric("epdns_snapshots_total");
    // A reserved address: rejected by validation.
    let reserved = base_lab().eni("ep-lab1", "vsw-i", "127.0.2.255");
    assert_eq!(s.reload(&reserved), Reload::Rejected);
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // Broken TOML: same.
    assert_eq!(s.reload_text("[server\n"), Reload::Rejected);
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // Nothing was published for either.
    assert_eq!(s.metric("epdns_snapshots_total"), snapshots);
    // And a later valid reload still works.
    let moved =
        base_lab()
            .eni("ep-lab1", "vsw-i", "127.0.2.11")
            .eni("ep-lab6", "vsw-i", "127.0.2.12");
    assert_eq!(s.reload(&moved), Reload::Ok);
    assert_eq!(
        addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
        ["127.0.1.10", "127.0.2.11"]
    );
    assert!(s.metric("epdns_snapshots_total") > snapshots);
}
