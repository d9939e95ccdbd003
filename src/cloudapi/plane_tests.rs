//! Another replica's endpoint changes, applied from the store's watch
//! (`Plane::apply`), give the model a full build of the same desired state
//! gives, and they are applied endpoint by endpoint: what they do not
//! touch is shared with the model published before, not built again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::plane::{Ctx, Plane};
use super::record::{ENDPOINT, EndpointRecord, EndpointStatus, ZoneRecord, ZoneStatus};
use crate::config::file::ConfigFile;
use crate::model::{Endpoint, Model};
use crate::store::{RedbStore, StoreEvent};

const BASE: &str = r#"
[[vpc]]
id = "v1"
region = "r1"
cidrs = ["127.0.0.0/16"]
[[vswitch]]
id = "sa"
vpc = "v1"
zone = "za"
cidr = "127.0.1.0/24"
[[vswitch]]
id = "sb"
vpc = "v1"
zone = "zb"
cidr = "127.0.2.0/24"
[[service]]
id = "s1"
region = "r1"
zone_affinity = true
"#;

fn record(id: &str, status: EndpointStatus, zones: &[(&str, &str, ZoneStatus)]) -> EndpointRecord {
    EndpointRecord {
        id: id.to_string(),
        name: String::new(),
        description: String::new(),
        vpc: "v1".to_string(),
        service: "s1".to_string(),
        ip_version: "ipv4".to_string(),
        zone_affinity: true,
        cross_region: false,
        security_groups: Vec::new(),
        zones: zones
            .iter()
            .map(|(vswitch, ip, status)| ZoneRecord {
                zone: if *vswitch == "sa" { "za" } else { "zb" }.to_string(),
                vswitch: vswitch.to_string(),
                ip: ip.to_string(),
                ipv6: None,
                status: *status,
                since_ms: 0,
            })
            .collect(),
        status,
        created_ms: 0,
        client_token: None,
        policy_document: None,
        reverse: false,
        tags: Vec::new(),
        custom_domain: false,
    }
}

fn put(r: &EndpointRecord, revision: u64) -> StoreEvent {
    StoreEvent::Put {
        kind: ENDPOINT.to_string(),
        id: r.id.clone(),
        value: serde_json::to_vec(r).unwrap(),
        revision,
    }
}

fn delete(id: &str, revision: u64) -> StoreEvent {
    StoreEvent::Delete {
        kind: ENDPOINT.to_string(),
        id: id.to_string(),
        revision,
    }
}

fn sorted(m: &Model) -> Vec<Endpoint> {
    let mut v: Vec<Endpoint> = m.endpoints.iter().map(|e| (**e).clone()).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

fn shared(m: &Model, id: &str) -> Arc<Endpoint> {
    m.endpoints.iter().find(|e| e.id == id).unwrap().clone()
}

/// Applies `events` as the server does (the published model is the one
/// the previous step returned) and checks the result against a full build.
fn step(
    plane: &mut Plane,
    base: &ConfigFile,
    published: &Model,
    events: Vec<StoreEvent>,
) -> Option<Model> {
    let load = |_: &_, file: &str, _: &_| -> Result<_, _> {
        panic!("no zone files here, asked for {file}")
    };
    let ctx = Ctx {
        base,
        published,
        load_zone: &load,
        generation: 0,
    };
    let applied = plane.apply(&ctx, events).expect("the change applies");
    let full = plane.published_model(&ctx).expect("the full build passes");
    let now = applied.as_ref().unwrap_or(published);
    assert_eq!(sorted(now), sorted(&full), "applied change vs full rebuild");
    applied
}

#[test]
fn endpoint_changes_from_another_replica_match_a_full_rebuild_and_share_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let mut plane = Plane::with_store(Box::new(store), Duration::ZERO).unwrap();
    let base = crate::config::parse(BASE, Path::new("t.toml")).expect("parses");
    let m0 = crate::model::build(&base, None, &|_, file, _| {
        panic!("no zone files here, asked for {file}")
    })
    .expect("the base config is valid");
    use EndpointStatus::{Active, Creating};
    use ZoneStatus::{Connected, Connecting};

    // Two endpoints appear.
    let a = record(
        "ep-a",
        Active,
        &[
            ("sa", "127.0.1.10", Connected),
            ("sb", "127.0.2.10", Connected),
        ],
    );
    let b = record("ep-b", Active, &[("sa", "127.0.1.11", Connected)]);
    let m1 = step(&mut plane, &base, &m0, vec![put(&a, 1), put(&b, 2)]).expect("published");
    assert_eq!(m1.endpoints.len(), 2);

    // One changes its zones: the other is the same Arc as before.
    let a2 = record(
        "ep-a",
        Active,
        &[
            ("sb", "127.0.2.10", Connected),
            ("sa", "127.0.1.12", Connecting),
        ],
    );
    let m2 = step(&mut plane, &base, &m1, vec![put(&a2, 3)]).expect("published");
    assert!(Arc::ptr_eq(&shared(&m1, "ep-b"), &shared(&m2, "ep-b")));
    assert_ne!(*shared(&m1, "ep-a"), *shared(&m2, "ep-a"));

    // A Creating endpoint changes only the desired view: nothing to
    // publish (the full build agrees: the model is unchanged).
    let c = record("ep-c", Creating, &[("sa", "127.0.1.13", Connecting)]);
    assert!(step(&mut plane, &base, &m2, vec![put(&c, 4)]).is_none());

    // It becomes Active and another is deleted, in one batch.
    let c2 = record("ep-c", Active, &[("sa", "127.0.1.13", Connected)]);
    let m3 = step(&mut plane, &base, &m2, vec![put(&c2, 5), delete("ep-b", 6)]).expect("published");
    assert!(Arc::ptr_eq(&shared(&m2, "ep-a"), &shared(&m3, "ep-a")));
    assert!(m3.endpoints.iter().all(|e| e.id != "ep-b"));

    // An address freed by the deletion can be taken: the claims followed.
    let d = record("ep-d", Active, &[("sa", "127.0.1.11", Connected)]);
    let m4 = step(&mut plane, &base, &m3, vec![put(&d, 7)]).expect("published");
    assert_eq!(m4.endpoints.len(), 3);
}
