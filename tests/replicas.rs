//! Replicas sharing their desired state through a real etcd cluster on
//! loopback: a change made through one replica's control API (driven by the
//! cloud's Python SDK) answers on every replica; a failover is seen by all
//! (each probes on its own); kill -9 of a replica and of the etcd leader
//! during a stream of writes loses no acknowledged change; with etcd down
//! the replicas keep answering, say so, refuse writes with the cloud's
//! `ServiceUnavailable`, and catch up when it returns.
//!
//! Timings are printed (`--nocapture`), never asserted: the machine may be
//! loaded.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

/// A deadline for a loaded machine, not a speed requirement.
const LIMIT: Duration = Duration::from_secs(60);

/// The probed lab (ep-lab1 with three probed ENIs, from the config file),
/// the control API on, its state in etcd at `url`, and a service whose
/// endpoints are not probed (the API's endpoints are then answered as
/// soon as they are Active, with no probe traffic to addresses nobody
/// serves).
fn replica_lab(port: u16, url: &str) -> LabConfig {
    probed_lab(port)
        .api("listen = \"127.0.0.1:0\"\nlifecycle_ms = 0")
        .access_key("lab-key", "lab-secret")
        .state_etcd(url)
        .service("epsrv-api", "cn-hangzhou")
        .with("probe = { kind = \"none\" }")
}

fn create_request() -> Value {
    json!({
        "RegionId": "cn-hangzhou",
        "VpcId": "vpc-lab",
        "ServiceId": "epsrv-api",
        "SecurityGroupId": ["sg-1"],
        "Zone": [
            {"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h"},
            {"ZoneId": "cn-hangzhou-i", "VSwitchId": "vsw-i"},
        ],
    })
}

fn api_domain(id: &str) -> String {
    format!("{id}.epsrv-api.cn-hangzhou.privatelink.aliyuncs.com.")
}

/// Whether `s` answers endpoint `id`'s domain with its two addresses.
fn answers(s: &Server, id: &str) -> bool {
    let m = s.udp(&api_domain(id), RecordType::A);
    m.response_code == ResponseCode::NoError && addrs(&m).len() == 2
}

fn create(sdk: &mut Sdk) -> Result<String, SdkError> {
    sdk.call("CreateVpcEndpoint", create_request())
        .map(|v| v["EndpointId"].as_str().unwrap().to_string())
}

/// The refusals a healthy lab may give now and then: etcd electing a
/// leader (a loaded machine can starve one), or this replica not having
/// applied another's last write yet. Nothing was written: try again.
fn transient(e: &SdkError) -> bool {
    e.code == "ServiceUnavailable" || e.code == "OperationConflict"
}

/// `create`, tried again after transient refusals (within `LIMIT`).
fn create_acknowledged(sdk: &mut Sdk) -> String {
    let mut id = None;
    wait_until(
        LIMIT,
        "an acknowledged CreateVpcEndpoint",
        || match create(sdk) {
            Ok(v) => {
                id = Some(v);
                true
            }
            Err(e) if transient(&e) => false,
            Err(e) => panic!("CreateVpcEndpoint refused: {e:?}"),
        },
    );
    id.unwrap()
}

/// Polls `f` every 0.2 ms (finer than `wait_until`, for the printed
/// timings) until it holds; panics after `LIMIT`.
fn wait_fine(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The `q`-quantile of `v` (sorted here).
fn quantile(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Three replicas on one etcd cluster, with the probed ENIs alive.
struct Lab {
    etcd: EtcdCluster,
    replicas: Vec<Option<Server>>,
    sdks: Vec<Option<Sdk>>,
    enis: Vec<Option<FakeEni>>,
    config: LabConfig,
}

impl Lab {
    /// `None` (reported) when etcd or the SDK is missing.
    fn start(members: usize, replicas: usize) -> Option<Lab> {
        if !require_tools(&["etcd", "etcdctl"]) {
            return None;
        }
        let etcd = EtcdCluster::start(members);
        let listeners = bind_same_port(&PROBED_ENIS);
        let port = listeners[0].local_addr().unwrap().port();
        let enis = listeners
            .into_iter()
            .map(|l| Some(FakeEni::serve(l)))
            .collect();
        let config = replica_lab(port, &etcd.url("epdns/lab"));
        let servers: Vec<Server> = (0..replicas).map(|_| Server::start(&config)).collect();
        let mut sdks = Vec::new();
        for s in &servers {
            sdks.push(Some(Sdk::start(s.api())?));
        }
        Some(Lab {
            etcd,
            replicas: servers.into_iter().map(Some).collect(),
            sdks,
            enis,
            config,
        })
    }

    fn alive(&self) -> impl Iterator<Item = &Server> {
        self.replicas.iter().flatten()
    }

    fn kill_replica(&mut self, i: usize) {
        self.sdks[i] = None;
        self.replicas[i].take().expect("replica running").kill();
    }

    /// Waits until every running replica answers `id`; how long each took.
    fn wait_everywhere(&self, id: &str) -> Vec<Duration> {
        self.alive()
            .map(|s| {
                wait_until(LIMIT, &format!("{id} answers on {}", s.addr), || {
                    answers(s, id)
                })
            })
            .collect()
    }

    fn status(&self, s: &Server) -> Value {
        let (code, body) = http(s.admin(), "GET", "/v1/status", None);
        assert_eq!(code, 200, "/v1/status: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

#[test]
fn a_write_through_one_replica_answers_on_all_and_a_failover_is_seen_by_all() {
    let Some(mut lab) = Lab::start(3, 3) else {
        return;
    };
    for s in lab.alive() {
        assert_eq!(
            lab.status(s)["state_store"],
            json!({"backend": "etcd", "up": true})
        );
        assert_eq!(s.metric("epdns_state_store_up"), 1);
    }

    // Write-to-answer on every replica: from the reply to CreateVpcEndpoint
    // until the last replica answers the new name.
    let mut all = Vec::new();
    for i in 0..20 {
        let sdk = lab.sdks[i % 3].as_mut().unwrap();
        let id = create_acknowledged(sdk);
        let replied = Instant::now();
        for s in lab.alive() {
            wait_fine("the new endpoint answers", || answers(s, &id));
        }
        all.push(replied.elapsed());
    }
    println!(
        "write-to-answer on all 3 replicas: p50 {:?}, p99 {:?} (20 creates, lifecycle 0)",
        quantile(&mut all, 0.5),
        quantile(&mut all, 0.99)
    );

    // A change read through another replica's API: the record is the same.
    let id = create_acknowledged(lab.sdks[0].as_mut().unwrap());
    lab.wait_everywhere(&id);
    let get = |sdk: &mut Sdk| {
        sdk.call(
            "GetVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
        )
        .unwrap()
    };
    let seen: Vec<Value> = lab
        .sdks
        .iter_mut()
        .flatten()
        .map(|sdk| {
            let mut v = get(sdk);
            v.as_object_mut().unwrap().remove("RequestId");
            v
        })
        .collect();
    assert_eq!(seen[0]["EndpointStatus"], "Active");
    assert!(seen.iter().all(|v| *v == seen[0]), "{seen:?}");

    // Each replica probes on its own: ENI 1 dying leaves every replica's
    // answer.
    let killed = Instant::now();
    lab.enis[1].take().unwrap().stop();
    let want: Vec<&str> = vec![PROBED_ENIS[0], PROBED_ENIS[2]];
    let took: Vec<Duration> = lab
        .alive()
        .map(|s| {
            wait_fine("the dead ENI leaves the answer", || {
                addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)) == want
            });
            killed.elapsed()
        })
        .collect();
    println!(
        "failover seen by each replica after: {took:?} (interval 50 ms, timeout 40 ms, fall 2)"
    );
}

#[test]
fn kill_9_of_a_replica_and_of_the_etcd_leader_during_writes_loses_nothing_acknowledged() {
    let Some(mut lab) = Lab::start(3, 3) else {
        return;
    };
    let mut acked: Vec<String> = Vec::new();
    let mut refused: BTreeSet<String> = BTreeSet::new();
    let mut next = 0usize;
    let (mut replica_killed, mut leader_killed) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(180);
    while acked.len() < 30 {
        assert!(
            Instant::now() < deadline,
            "30 acknowledged writes not within 180 s"
        );
        if acked.len() == 8 && !replica_killed {
            lab.kill_replica(0);
            replica_killed = true;
        }
        if acked.len() == 16 && !leader_killed {
            let leader = lab.etcd.leader();
            lab.etcd.kill(leader);
            leader_killed = true;
        }
        // Round robin over the running replicas.
        let i = next % 3;
        next += 1;
        let Some(sdk) = lab.sdks[i].as_mut() else {
            continue;
        };
        match create(sdk) {
            Ok(id) => acked.push(id),
            // Refused while the cluster elects a leader (unavailable) or
            // while this replica has not yet seen another's last write
            // (conflict): not acknowledged, so not owed.
            Err(e) => {
                assert!(transient(&e), "unexpected refusal: {e:?}");
                refused.insert(e.code);
            }
        }
    }
    println!("30 acknowledged creates; refusals seen: {refused:?}");
    for id in &acked {
        lab.wait_everywhere(id);
    }
    // The killed replica, started again, reads them all from etcd.
    let back = Server::start(&lab.config);
    for id in &acked {
        wait_until(LIMIT, "the restarted replica answers", || {
            answers(&back, id)
        });
    }
    let mut sdk = Sdk::start(back.api()).unwrap();
    let listed = sdk
        .call(
            "ListVpcEndpoints",
            json!({"RegionId": "cn-hangzhou", "MaxResults": 100}),
        )
        .unwrap();
    let listed: BTreeSet<&str> = listed["Endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EndpointId"].as_str().unwrap())
        .collect();
    for id in &acked {
        assert!(listed.contains(id.as_str()), "{id} missing from {listed:?}");
    }
}

#[test]
fn with_etcd_down_replicas_answer_report_it_refuse_writes_and_catch_up() {
    let Some(mut lab) = Lab::start(1, 2) else {
        return;
    };
    let before = create_acknowledged(lab.sdks[0].as_mut().unwrap());
    lab.wait_everywhere(&before);

    lab.etcd.kill_all();
    for s in lab.alive() {
        wait_until(LIMIT, "the replica reports etcd down", || {
            lab.status(s)["state_store"]["up"] == false
        });
        assert_eq!(s.metric("epdns_state_store_up"), 0);
        // The last state keeps answering, probed health included.
        assert!(answers(s, &before));
        assert_eq!(
            addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)),
            PROBED_ENIS
        );
    }
    let refused = create(lab.sdks[1].as_mut().unwrap()).unwrap_err();
    assert_eq!(
        (refused.code.as_str(), refused.status),
        ("ServiceUnavailable", 503),
        "{refused:?}"
    );

    lab.etcd.restart_all();
    for s in lab.alive() {
        wait_until(LIMIT, "the replica reports etcd up", || {
            lab.status(s)["state_store"]["up"] == true
        });
        assert_eq!(s.metric("epdns_state_store_up"), 1);
    }
    // Writes go through again (once this replica's watch has caught up),
    // and reach the other replica.
    let after = create_acknowledged(lab.sdks[1].as_mut().unwrap());
    lab.wait_everywhere(&after);
    assert!(lab.alive().all(|s| answers(s, &before)));
}

/// The answer for ep-lab1 of `s`.
fn lab1(s: &Server) -> Vec<String> {
    addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A))
}

#[test]
fn an_admin_override_is_shared_by_replicas_and_kept_across_restarts() {
    let Some(mut lab) = Lab::start(1, 2) else {
        return;
    };
    let path = "/v1/endpoints/ep-lab1/zones/cn-hangzhou-i/override";
    let s0 = lab.replicas[0].as_ref().unwrap();
    let (code, body) = http(s0.admin(), "PUT", path, Some(r#"{"state": "down"}"#));
    assert_eq!(code, 200, "{body}");
    let without_i = [PROBED_ENIS[0], PROBED_ENIS[2]];
    for s in lab.alive() {
        wait_until(LIMIT, "the override applies on every replica", || {
            lab1(s) == without_i
        });
    }
    // A replica started afterwards restores it before it answers.
    lab.kill_replica(1);
    let back = Server::start(&lab.config);
    assert_eq!(lab1(&back), without_i);
    let status = lab.status(&back);
    let zone_i = status["endpoints"][0]["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "cn-hangzhou-i")
        .cloned()
        .unwrap();
    assert_eq!(zone_i["override"], "down", "{status}");
    // Cleared through the restarted one: cleared on the other too.
    let (code, body) = http(back.admin(), "DELETE", path, None);
    assert_eq!(code, 200, "{body}");
    let s0 = lab.replicas[0].as_ref().unwrap();
    wait_until(LIMIT, "the cleared override clears everywhere", || {
        lab1(s0) == PROBED_ENIS
    });
    // With etcd down an override cannot be kept: refused, and not applied.
    lab.etcd.kill_all();
    wait_until(LIMIT, "the replica reports etcd down", || {
        lab.status(s0)["state_store"]["up"] == false
    });
    let (code, body) = http(s0.admin(), "PUT", path, Some(r#"{"state": "down"}"#));
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("unreachable"), "{body}");
    assert_eq!(lab1(s0), PROBED_ENIS);
}

#[test]
fn concurrent_creates_through_two_replicas_never_share_an_address() {
    let Some(mut lab) = Lab::start(1, 2) else {
        return;
    };
    // Two writers at once, one per replica: each replica picks free
    // addresses from what it has applied, so without the store's
    // whole-prefix condition both could hand out the same one.
    let writers: Vec<std::thread::JoinHandle<(Vec<String>, usize)>> = (0..2)
        .map(|i| {
            let mut sdk = lab.sdks[i].take().unwrap();
            std::thread::spawn(move || {
                let (mut ids, mut refused) = (Vec::new(), 0);
                while ids.len() < 10 {
                    match create(&mut sdk) {
                        Ok(id) => ids.push(id),
                        Err(e) if transient(&e) => refused += 1,
                        Err(e) => panic!("CreateVpcEndpoint refused: {e:?}"),
                    }
                }
                (ids, refused)
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut refused = 0;
    for w in writers {
        let (mine, r) = w.join().unwrap();
        ids.extend(mine);
        refused += r;
    }
    println!(
        "20 concurrent creates through 2 replicas; {refused} refused as transient and retried"
    );
    let mut addresses = BTreeSet::new();
    for id in &ids {
        lab.wait_everywhere(id);
        let answers: Vec<Vec<String>> = lab
            .alive()
            .map(|s| addrs(&s.udp(&api_domain(id), RecordType::A)))
            .collect();
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "{id}: {answers:?}"
        );
        for a in &answers[0] {
            assert!(addresses.insert(a.clone()), "{a} given to two endpoints");
        }
    }
    assert_eq!(addresses.len(), 40);
}
