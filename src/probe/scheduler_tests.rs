//! Scheduler tests on paused tokio time with a scripted checker: no sockets, no
//! real sleeping, deterministic timing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Ok,
    Fail,
    Hang,
}

#[derive(Default)]
struct Scripted {
    plans: Mutex<HashMap<IpAddr, Plan>>,
    calls: Mutex<HashMap<IpAddr, u32>>,
}

impl Scripted {
    fn set(&self, ip: IpAddr, plan: Plan) {
        self.plans.lock().unwrap().insert(ip, plan);
    }

    fn calls(&self, ip: IpAddr) -> u32 {
        self.calls.lock().unwrap().get(&ip).copied().unwrap_or(0)
    }
}

impl Check for Scripted {
    fn check<'a>(&'a self, ip: IpAddr, _settings: &'a ProbeSettings) -> CheckFuture<'a> {
        *self.calls.lock().unwrap().entry(ip).or_default() += 1;
        let plan = self
            .plans
            .lock()
            .unwrap()
            .get(&ip)
            .copied()
            .unwrap_or(Plan::Ok);
        Box::pin(async move {
            match plan {
                Plan::Ok => {
                    sleep(Duration::from_millis(1)).await;
                    ProbeResult::ok("connected", Duration::from_millis(1))
                }
                Plan::Fail => ProbeResult::fail("connect refused"),
                Plan::Hang => std::future::pending().await,
            }
        })
    }
}

fn key(endpoint: &str, zone: &str, last_octet: u8) -> TargetKey {
    TargetKey::new(endpoint, zone, IpAddr::from([127, 0, 1, last_octet]))
}

fn tcp(interval_ms: u64, timeout_ms: u64) -> ProbeSettings {
    ProbeSettings {
        kind: ProbeKind::Tcp { port: 443 },
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        fall: 2,
        rise: 2,
    }
}

fn setup(targets: &[(TargetKey, ProbeSettings)]) -> (Prober, Arc<Scripted>, Arc<HealthTable>) {
    let health = Arc::new(HealthTable::default());
    let checker = Arc::new(Scripted::default());
    let prober =
        Prober::with_checker(Arc::clone(&health), checker.clone(), targets.to_vec()).unwrap();
    (prober, checker, health)
}

/// Polls (on paused time) until `key` reaches `want`; returns the time it took.
async fn until_state(health: &HealthTable, key: &TargetKey, want: State) -> Duration {
    let start = Instant::now();
    while health.effective_state(key) != Some(want) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{key} never {want}"
        );
        sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn hung_target_does_not_delay_others() {
    let hung = key("ep-1", "z1", 1);
    let fine = key("ep-1", "z2", 2);
    let (prober, checker, health) =
        setup(&[(hung.clone(), tcp(100, 50)), (fine.clone(), tcp(100, 50))]);
    checker.set(hung.ip, Plan::Hang);

    let start = Instant::now();
    assert!(prober.first_round().await, "every target reported");
    assert!(start.elapsed() <= Duration::from_millis(150));
    assert_eq!(health.effective_state(&hung), Some(State::Down));
    assert_eq!(
        health.status(&hung).unwrap().last.unwrap().detail,
        "timeout"
    );
    assert_eq!(health.effective_state(&fine), Some(State::Up));

    let before = checker.calls(fine.ip);
    sleep(Duration::from_secs(1)).await;
    let fine_probes = checker.calls(fine.ip) - before;
    assert!(
        (9..=11).contains(&fine_probes),
        "{fine_probes} probes in 1 s"
    );
    // The hung target keeps its own rhythm too: one bounded probe per interval.
    assert!(checker.calls(hung.ip) >= 10);
}

#[tokio::test(start_paused = true)]
async fn down_within_bound_then_back_and_subscriber_notified() {
    let a = key("ep-1", "z1", 1);
    let settings = ProbeSettings {
        kind: ProbeKind::Icmp,
        ..ProbeSettings::default()
    };
    let (prober, checker, health) = setup(&[(a.clone(), settings.clone())]);
    let mut changes = health.subscribe();
    assert!(prober.first_round().await);
    assert_eq!(health.effective_state(&a), Some(State::Up));
    changes.borrow_and_update();

    checker.set(a.ip, Plan::Fail);
    let took = until_state(&health, &a, State::Down).await;
    // `fall` failing probes, the first up to one interval away.
    assert!(
        took <= settings.interval * settings.fall + Duration::from_millis(10),
        "{took:?}"
    );
    assert!(took < Duration::from_secs(1));
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();

    checker.set(a.ip, Plan::Ok);
    let took = until_state(&health, &a, State::Up).await;
    assert!(
        took <= settings.interval * settings.rise + Duration::from_millis(10),
        "{took:?}"
    );
    assert!(changes.has_changed().unwrap());

    let events = health.events();
    let states: Vec<_> = events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        states,
        [
            (State::Unknown, State::Up),
            (State::Up, State::Down),
            (State::Down, State::Up)
        ]
    );
    assert_eq!(events[1].reason, "2 consecutive failures: connect refused");
}

#[tokio::test(start_paused = true)]
async fn single_lost_probe_does_not_flap() {
    let a = key("ep-1", "z1", 1);
    let (prober, checker, health) = setup(&[(a.clone(), tcp(100, 50))]);
    assert!(prober.first_round().await);
    for _ in 0..5 {
        checker.set(a.ip, Plan::Fail);
        sleep(Duration::from_millis(100)).await; // exactly one probe fails
        checker.set(a.ip, Plan::Ok);
        sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(health.effective_state(&a), Some(State::Up));
    assert_eq!(health.events().len(), 1, "only the first result");
}

#[tokio::test(start_paused = true)]
async fn update_targets_keeps_unchanged_state() {
    let kept = key("ep-1", "z1", 1);
    let changed = key("ep-1", "z2", 2);
    let removed = key("ep-2", "z1", 3);
    let added = key("ep-1", "z1", 4);
    let (mut prober, checker, health) = setup(&[
        (kept.clone(), tcp(100, 50)),
        (changed.clone(), tcp(100, 50)),
        (removed.clone(), tcp(100, 50)),
    ]);
    checker.set(kept.ip, Plan::Fail);
    assert!(prober.first_round().await);
    health.set_override("ep-1", "z1", Some(State::Up)).unwrap();
    health
        .set_override("ep-2", "z1", Some(State::Down))
        .unwrap();
    sleep(Duration::from_millis(500)).await;
    let kept_before = health.status(&kept).unwrap();
    let events_before = health.events();
    assert_eq!(kept_before.probe, State::Down);

    let (reload_at, kept_calls_at_reload) = (Instant::now(), checker.calls(kept.ip));
    let summary = prober
        .update_targets(vec![
            (kept.clone(), tcp(100, 50)),
            (changed.clone(), tcp(150, 100)),
            (added.clone(), tcp(100, 50)),
        ])
        .unwrap();
    assert_eq!(
        summary,
        ReloadSummary {
            kept: 1,
            changed: 1,
            added: 1,
            removed: 1
        }
    );
    // Unchanged target: not re-armed, state and history as they were.
    assert_eq!(
        health.pending_first(),
        2,
        "only the changed and the new target"
    );
    let kept_after = health.status(&kept).unwrap();
    assert_eq!(kept_after.since, kept_before.since);
    assert_eq!(kept_after.probe, State::Down);
    assert_eq!(
        kept_after.admin_override,
        Some(State::Up),
        "override survives"
    );
    assert_eq!(
        health.events(),
        events_before,
        "a reload alone is no transition"
    );
    // Changed target keeps its state until its new probe reports.
    assert_eq!(health.effective_state(&changed), Some(State::Up));
    // Removed target and its override are gone; the new one starts unknown but is
    // covered by its endpoint+zone's override.
    assert_eq!(health.status(&removed), None);
    assert_eq!(
        health.overrides(),
        [("ep-1".into(), "z1".into(), State::Up)]
    );
    assert_eq!(health.status(&added).unwrap().probe, State::Unknown);

    let calls_removed = checker.calls(removed.ip);
    assert!(prober.first_round().await);
    assert_eq!(health.status(&added).unwrap().probe, State::Up);
    sleep(Duration::from_millis(500)).await;
    assert_eq!(
        checker.calls(removed.ip),
        calls_removed,
        "removed target no longer probed"
    );
    // The kept target's task ran on, one probe per interval, through the reload.
    let kept_probes = checker.calls(kept.ip) - kept_calls_at_reload;
    let expected = (reload_at.elapsed().as_millis() / 100) as u32;
    assert!(
        kept_probes + 1 >= expected,
        "kept target probed {kept_probes} times, expected ~{expected}"
    );
    assert_eq!(prober.targets().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn invalid_update_changes_nothing() {
    let a = key("ep-1", "z1", 1);
    let (mut prober, _checker, health) = setup(&[(a.clone(), tcp(100, 50))]);
    assert!(prober.first_round().await);
    let bad = tcp(100, 100);
    let err = prober
        .update_targets(vec![(key("ep-9", "z1", 9), bad)])
        .unwrap_err();
    assert!(
        matches!(&err, ProberError::Settings { source, .. } if source.field == "timeout"),
        "{err}"
    );
    let err = prober
        .update_targets(vec![(a.clone(), tcp(100, 50)), (a.clone(), tcp(200, 50))])
        .unwrap_err();
    assert_eq!(err, ProberError::Duplicate(a.clone()));
    assert_eq!(prober.targets(), [(a.clone(), tcp(100, 50))]);
    assert_eq!(health.effective_state(&a), Some(State::Up));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_prober_stops_probing() {
    let a = key("ep-1", "z1", 1);
    let (prober, checker, health) = setup(&[(a.clone(), tcp(100, 50))]);
    assert!(prober.first_round().await);
    drop(prober);
    sleep(Duration::from_millis(10)).await;
    let calls = checker.calls(a.ip);
    sleep(Duration::from_secs(1)).await;
    assert_eq!(checker.calls(a.ip), calls);
    assert_eq!(
        health.effective_state(&a),
        Some(State::Up),
        "table outlives the prober"
    );
}
