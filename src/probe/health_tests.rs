//! Health table tests: results, overrides, events, reloads; no sockets, no sleeping
//! (one test on paused time).

use std::time::Duration;

use super::*;

fn key(endpoint: &str, zone: &str, ip: &str) -> TargetKey {
    TargetKey::new(endpoint, zone, ip.parse().unwrap())
}

fn ok() -> ProbeResult {
    ProbeResult::ok("connected", Duration::from_millis(1))
}

fn fail() -> ProbeResult {
    ProbeResult::fail("connect refused")
}

fn table_with(keys: &[&TargetKey]) -> HealthTable {
    let t = HealthTable::default();
    for k in keys {
        t.add_target((*k).clone(), 2, 2);
    }
    t
}

#[test]
fn first_result_decides_and_is_an_event() {
    let a = key("ep-1", "cn-hangzhou-h", "127.0.1.1");
    let t = table_with(&[&a]);
    assert_eq!(t.effective_state(&a), Some(State::Unknown));
    assert!(t.effective_up(&a), "unknown counts as up");
    assert_eq!(t.pending_first(), 1);
    let g = t.generation();
    assert!(t.record(&a, fail()));
    assert_eq!(t.effective_state(&a), Some(State::Down));
    assert!(!t.effective_up(&a));
    assert_eq!(t.pending_first(), 0);
    assert!(t.generation() > g);
    let events = t.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].from, events[0].to),
        (State::Unknown, State::Down)
    );
    assert_eq!(events[0].reason, "first probe: connect refused");
    let st = t.status(&a).unwrap();
    assert_eq!(st.last.unwrap().detail, "connect refused");
}

#[test]
fn rise_fall_events_carry_the_reason() {
    let a = key("ep-1", "z", "127.0.1.1");
    let t = table_with(&[&a]);
    t.record(&a, ok());
    t.record(&a, fail());
    assert_eq!(t.events().len(), 1, "one failure does not flap");
    t.record(&a, fail());
    let last = t.events().pop().unwrap();
    assert_eq!((last.from, last.to), (State::Up, State::Down));
    assert_eq!(last.reason, "2 consecutive failures: connect refused");
    assert!(!t.record(&key("nope", "z", "127.0.1.1"), ok()));
}

#[test]
fn override_wins_until_cleared() {
    let a4 = key("ep-1", "z1", "127.0.1.1");
    let a6 = key("ep-1", "z1", "::1");
    let other = key("ep-1", "z2", "127.0.1.2");
    let t = table_with(&[&a4, &a6, &other]);
    for k in [&a4, &a6, &other] {
        t.record(k, ok());
    }
    let before = t.events().len();

    assert_eq!(t.set_override("ep-1", "z1", Some(State::Down)), Ok(2));
    assert!(!t.effective_up(&a4) && !t.effective_up(&a6));
    assert!(t.effective_up(&other), "other zone untouched");
    let st = t.status(&a4).unwrap();
    assert_eq!(
        (st.probe, st.admin_override, st.effective),
        (State::Up, Some(State::Down), State::Down)
    );
    let events = t.events();
    assert_eq!(events.len(), before + 2);
    assert_eq!(events.last().unwrap().reason, "admin override: down");

    // Probes keep running underneath but do not change the answer.
    let g = t.generation();
    for _ in 0..3 {
        t.record(&a4, fail());
    }
    assert_eq!(t.status(&a4).unwrap().probe, State::Down);
    assert_eq!(t.effective_state(&a4), Some(State::Down));
    assert_eq!(t.generation(), g, "masked change does not notify");
    assert_eq!(t.events().len(), before + 2);

    // Clearing returns to the probe state: a4 is now down by probes, a6 up.
    assert_eq!(t.set_override("ep-1", "z1", None), Ok(2));
    assert_eq!(t.effective_state(&a4), Some(State::Down));
    assert_eq!(t.effective_state(&a6), Some(State::Up));
    let last = t.events().pop().unwrap();
    assert_eq!(
        (last.ip, last.from, last.to),
        (a6.ip, State::Down, State::Up)
    );
    assert_eq!(last.reason, "admin override cleared, probe state up");

    let unprobed = key("ep-9", "z1", "127.0.1.9");
    assert_eq!(
        &*t.effective_up_of([&a4, &a6, &other, &unprobed]),
        [false, true, true, true]
    );

    // Forcing up wins over a down probe state.
    t.set_override("ep-1", "z1", Some(State::Up)).unwrap();
    assert!(t.effective_up(&a4));
    assert_eq!(t.overrides(), [("ep-1".into(), "z1".into(), State::Up)]);
}

#[test]
fn override_errors() {
    let a = key("ep-1", "z1", "127.0.1.1");
    let t = table_with(&[&a]);
    assert_eq!(
        t.set_override("ep-1", "z9", Some(State::Down)),
        Err(HealthError::NoSuchTarget {
            endpoint: "ep-1".into(),
            zone: "z9".into()
        })
    );
    assert_eq!(
        t.set_override("ep-1", "z1", Some(State::Unknown)),
        Err(HealthError::UnknownOverride)
    );
    assert!(t.overrides().is_empty());
}

#[test]
fn event_ring_is_bounded() {
    let a = key("ep-1", "z", "127.0.1.1");
    let t = HealthTable::new(5);
    t.add_target(a.clone(), 1, 1);
    for i in 0..20 {
        t.record(&a, if i % 2 == 0 { ok() } else { fail() });
    }
    let events = t.events();
    assert_eq!(events.len(), 5);
    // Oldest first, and only the newest kept: the 20th result was a failure.
    assert_eq!(events.last().unwrap().to, State::Down);
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    let mut metrics = String::new();
    t.render_prometheus(&mut metrics);
    assert!(
        metrics.contains("epdns_transitions_total 20\n"),
        "{metrics}"
    );
}

#[test]
fn reconfigure_keeps_state_and_ignores_stale_epoch() {
    let a = key("ep-1", "z", "127.0.1.1");
    let t = HealthTable::default();
    let e0 = t.add_target(a.clone(), 2, 2);
    assert!(t.record_for(&a, e0, ok()));
    let e1 = t.add_target(a.clone(), 3, 3);
    assert_ne!(e0, e1);
    assert_eq!(t.pending_first(), 1);
    assert_eq!(
        t.effective_state(&a),
        Some(State::Up),
        "kept until the new probe reports"
    );
    assert!(!t.record_for(&a, e0, fail()), "stale task's result ignored");
    assert_eq!(t.effective_state(&a), Some(State::Up));
    assert!(t.record_for(&a, e1, fail()));
    assert_eq!(
        t.effective_state(&a),
        Some(State::Down),
        "first new result decides"
    );
    assert_eq!(
        t.events().last().unwrap().reason,
        "first probe with new settings: connect refused"
    );
    assert_eq!(t.pending_first(), 0);
}

#[test]
fn removing_targets_prunes_their_overrides_only() {
    let a = key("ep-1", "z1", "127.0.1.1");
    let b = key("ep-2", "z1", "127.0.1.2");
    let t = table_with(&[&a, &b]);
    t.set_override("ep-1", "z1", Some(State::Down)).unwrap();
    t.set_override("ep-2", "z1", Some(State::Down)).unwrap();
    assert!(t.remove_target(&a));
    assert!(!t.remove_target(&a));
    t.prune_overrides();
    assert_eq!(t.overrides(), [("ep-2".into(), "z1".into(), State::Down)]);
    assert_eq!(t.pending_first(), 1);
    // A new address of an overridden endpoint+zone is covered at once.
    let b6 = key("ep-2", "z1", "::1");
    t.add_target(b6.clone(), 2, 2);
    assert_eq!(t.effective_state(&b6), Some(State::Down));
}

#[test]
fn prometheus_text() {
    let a = key("ep-1", "z", "127.0.1.1");
    let b = key("ep-1", "z", "127.0.1.2");
    let c = key("ep-2", "z", "127.0.1.3");
    let t = table_with(&[&a, &b, &c]);
    t.record(&a, ok());
    t.record(&b, fail());
    let mut out = String::new();
    t.render_prometheus(&mut out);
    for line in [
        "epdns_probes_total{result=\"ok\"} 1\n",
        "epdns_probes_total{result=\"fail\"} 1\n",
        "epdns_transitions_total 2\n",
        "epdns_enis{state=\"up\"} 1\n",
        "epdns_enis{state=\"down\"} 1\n",
        "epdns_enis{state=\"unknown\"} 1\n",
        "epdns_enis_overridden 0\n",
        "# TYPE epdns_enis gauge\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[tokio::test(start_paused = true)]
async fn wait_first_results_is_bounded() {
    let a = key("ep-1", "z", "127.0.1.1");
    let t = table_with(&[&a]);
    assert!(!t.wait_first_results(Duration::from_millis(50)).await);
    t.record(&a, ok());
    assert!(t.wait_first_results(Duration::from_millis(50)).await);
}

#[test]
fn unprobed_targets_take_overrides_and_await_nothing() {
    let a = key("ep-1", "cn-hangzhou-h", "127.0.1.1");
    let b = key("ep-2", "cn-hangzhou-h", "127.0.1.2");
    let t = HealthTable::default();
    t.set_unprobed([a.clone(), b.clone()]);
    assert_eq!(t.pending_first(), 0, "nothing to wait for");
    assert!(t.effective_up(&a));
    t.set_override("ep-1", "cn-hangzhou-h", Some(State::Down))
        .unwrap();
    assert!(!t.effective_up(&a));
    assert!(t.effective_up(&b));
    let status = t.status(&a).unwrap();
    assert!(!status.probed);
    // Dropping an unprobed target from the set removes it.
    t.set_unprobed([b.clone()]);
    assert!(t.status(&a).is_none());
    t.prune_overrides();
    assert!(
        t.set_override("ep-1", "cn-hangzhou-h", Some(State::Down))
            .is_err()
    );
}

#[test]
fn changes_name_the_addresses_whose_state_changed() {
    let a = key("ep-1", "cn-hangzhou-h", "127.0.1.1");
    let b = key("ep-1", "cn-hangzhou-i", "127.0.2.1");
    let t = table_with(&[&a, &b]);
    assert_eq!(t.take_changes(), Changes::All, "targets were added");
    assert_eq!(t.take_changes(), Changes::Keys(Default::default()));
    t.record(&a, ok());
    t.record(&b, ok());
    let _ = t.take_changes();
    // One failure with fall 2: no change yet; the second: a's state changed.
    t.record(&a, fail());
    assert_eq!(t.take_changes(), Changes::Keys(Default::default()));
    t.record(&a, fail());
    assert_eq!(t.take_changes(), Changes::Keys([a.clone()].into()));
    // An override changes every address of its endpoint+zone.
    t.set_override("ep-1", "cn-hangzhou-i", Some(State::Down))
        .unwrap();
    assert_eq!(t.take_changes(), Changes::Keys([b.clone()].into()));
    t.remove_target(&a);
    assert_eq!(t.take_changes(), Changes::All);
}
