//! A change checked and applied on its own gives what a full rebuild
//! gives: random sequences of endpoint changes, each validated by
//! `model::change_endpoint` against the model before and by `model::build`
//! of the whole config (the same verdict, the same errors, the same
//! endpoints), each accepted one applied with `Tables::update` to the
//! previous tables, and every name either could hold asked of both, by
//! both answer paths, from inside and outside the VPCs. And what a change
//! does not touch is shared, not copied.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};

use super::answer::{Client, Snapshot};
use super::tables::{Tables, wire_name};
use crate::config::file::ConfigFile;
use crate::load::load_str;
use crate::model::{Endpoint, Model, ValidationError};

const SUFFIX: &str = "privatelink.aliyuncs.com";

/// Two VPCs; services with a custom domain outside and one under the apex
/// (which turns the fast path off while enabled), one without affinity,
/// one in another region.
const BASE: &str = r#"
[[vpc]]
id = "v1"
region = "r1"
cidrs = ["127.0.0.0/17"]
[[vpc]]
id = "v2"
region = "r1"
cidrs = ["127.0.128.0/17"]
[[vswitch]]
id = "sa"
vpc = "v1"
zone = "za"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:1::/64"
[[vswitch]]
id = "sb"
vpc = "v1"
zone = "zb"
cidr = "127.0.2.0/24"
ipv6_cidr = "fd00:2::/64"
[[vswitch]]
id = "sc"
vpc = "v2"
zone = "za"
cidr = "127.0.129.0/24"
[[service]]
id = "s1"
region = "r1"
zone_affinity = true
dual_stack = true
custom_domain = "oss.example.internal"
[[service]]
id = "s2"
region = "r1"
custom_domain = "api.privatelink.aliyuncs.com"
[[service]]
id = "s3"
region = "r2"
zone_affinity = true
"#;

const IDS: [&str; 6] = ["e0", "e1", "e2", "e3", "e4", "e5"];
const SERVICES: [(&str, &str); 3] = [("s1", "r1"), ("s2", "r1"), ("s3", "r2")];

/// A fixed-seed generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
}

/// A random endpoint `id` as the config writes it: few enough addresses
/// that two endpoints often collide, and now and then a rule broken.
fn endpoint(rng: &mut Rng, id: &str) -> String {
    let (vpc, vswitches): (&str, &[(&str, u8)]) = if rng.below(4) == 0 {
        ("v2", &[("sc", 129)])
    } else {
        ("v1", &[("sa", 1), ("sb", 2)])
    };
    let (service, region) = SERVICES[rng.below(SERVICES.len())];
    let dual = rng.below(3) == 0;
    let mut zones = Vec::new();
    for (vsw, net) in vswitches {
        if zones.is_empty() || rng.coin() {
            let host = 10 + rng.below(4);
            let v6 = if dual && *net < 128 {
                format!(", ipv6 = \"fd00:{net}::{host}\"")
            } else {
                String::new()
            };
            zones.push(format!(
                "{{ vswitch = \"{vsw}\", ip = \"127.0.{net}.{host}\"{v6} }}"
            ));
        }
    }
    format!(
        "[[endpoint]]\nid = \"{id}\"\nvpc = \"{vpc}\"\nservice = \"{service}\"\n\
         ip_version = \"{}\"\nzone_affinity = {}\ncustom_domain = {}\ncross_region = {}\n\
         zones = [ {} ]\n",
        if dual { "dual-stack" } else { "ipv4" },
        rng.coin(),
        rng.coin(),
        region != "r1",
        zones.join(", ")
    )
}

fn model(endpoints: &BTreeMap<&str, String>) -> Option<Model> {
    let mut text = BASE.to_string();
    for e in endpoints.values() {
        text.push_str(e);
    }
    load_str(&text, Path::new("t.toml")).ok()
}

/// Every name the tables could hold, and some they never do.
fn names() -> Vec<Name> {
    let mut out = vec![
        SUFFIX.to_string(),
        format!("ns.{SUFFIX}"),
        format!("r1.{SUFFIX}"),
        format!("r2.{SUFFIX}"),
        format!("nothing.{SUFFIX}"),
        "oss.example.internal".to_string(),
        "below.oss.example.internal".to_string(),
        format!("api.{SUFFIX}"),
    ];
    for (svc, region) in SERVICES {
        out.push(format!("{svc}.{region}.{SUFFIX}"));
        for id in IDS {
            out.push(format!("{id}.{svc}.{region}.{SUFFIX}"));
            for zone in ["za", "zb"] {
                out.push(format!("{id}-{zone}.{svc}.{region}.{SUFFIX}"));
            }
        }
    }
    for net in [1, 2, 129] {
        for host in 10..14 {
            out.push(format!("{host}.{net}.0.127.in-addr.arpa"));
        }
    }
    for net in [1, 2] {
        for host in 10..14 {
            let ip = std::net::IpAddr::from_str(&format!("fd00:{net}::{host}")).unwrap();
            out.push(crate::zonefile::ptr_name(ip).to_string());
        }
    }
    out.iter()
        .map(|n| Name::from_str(&format!("{}.", n.trim_end_matches('.'))).unwrap())
        .collect()
}

/// Outside every VPC, in each zone of v1, and in v2.
fn clients() -> Vec<Client> {
    [
        ("127.200.0.1", None),
        ("127.0.1.5", Some(0)),
        ("127.0.2.5", Some(0)),
        ("127.0.129.5", Some(1)),
    ]
    .into_iter()
    .map(|(addr, vpc)| Client {
        addr: addr.parse().unwrap(),
        source_prefix: None,
        vpc,
        may_forward: false,
    })
    .collect()
}

/// Everything both answer paths say about `names`, as text.
fn answers(t: &Arc<Tables>, names: &[Name], clients: &[Client]) -> String {
    let s = Snapshot::all_up(t.clone());
    let mut out = String::new();
    writeln!(out, "fast path: {}", t.fast_path).unwrap();
    for name in names {
        let wire = wire_name(name);
        for (ci, client) in clients.iter().enumerate() {
            for qtype in [
                RecordType::A,
                RecordType::AAAA,
                RecordType::ANY,
                RecordType::PTR,
            ] {
                let a = s.answer(name, qtype, client);
                writeln!(
                    out,
                    "{name} {qtype} client {ci}: {:?} aa={} an={:?} ns={:?} ad={:?} {:?}",
                    a.rcode, a.authoritative, a.answers, a.authority, a.additionals, a.depends
                )
                .unwrap();
            }
            for qtype in [RecordType::A, RecordType::AAAA] {
                let f = s.fast_answer(&wire, qtype, client);
                writeln!(out, "{name} {qtype} client {ci} fast: {f:?}").unwrap();
            }
        }
    }
    out
}

fn parse(text: &str) -> ConfigFile {
    crate::config::parse(text, Path::new("t.toml")).expect("parses")
}

/// The full build of the base config with `endpoints` in this order.
fn full_build(endpoints: &[&str]) -> Result<Model, Vec<ValidationError>> {
    let cfg = parse(&format!("{BASE}{}", endpoints.concat()));
    crate::model::build(&cfg, None, &|_, file, _| {
        panic!("no zone files here, asked for {file}")
    })
}

fn endpoints_of(m: &Model) -> Vec<Endpoint> {
    m.endpoints.iter().map(|e| (**e).clone()).collect()
}

#[test]
fn changes_checked_alone_and_tables_updated_match_a_full_rebuild() {
    let (names, clients) = (names(), clients());
    let base = parse(BASE);
    for seed in 1..=12u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        // The endpoints in the model's order, and their config text.
        let mut order: Vec<&str> = Vec::new();
        let mut text: BTreeMap<&str, String> = BTreeMap::new();
        let mut current = model(&BTreeMap::new()).expect("the base config is valid");
        let mut tables = Arc::new(Tables::build(&current, 1));
        let (mut accepted, mut refused) = (0, 0);
        for step in 0..40u32 {
            let id = IDS[rng.below(IDS.len())];
            let new = (rng.below(4) != 0).then(|| endpoint(&mut rng, id));
            // A full build of the same change places it after the others.
            let others: Vec<&str> = order.iter().copied().filter(|o| *o != id).collect();
            let mut all: Vec<&str> = others.iter().map(|o| text[o].as_str()).collect();
            all.extend(new.as_deref());
            let full = full_build(&all);
            let section = new
                .as_ref()
                .map(|t| parse(&format!("{BASE}{t}")).endpoint.remove(0));
            let index_of = |o: &str| others.iter().position(|x| *x == o).expect("an other");
            let alone = crate::model::change_endpoint(
                &current,
                &base,
                None,
                id,
                section.as_ref(),
                &index_of,
            );
            let changed = match (full, alone) {
                (Err(full), Err(alone)) => {
                    assert_eq!(full, alone, "seed {seed} step {step}: the same errors");
                    refused += 1;
                    continue;
                }
                (Ok(full), Ok(alone)) => {
                    assert_eq!(
                        endpoints_of(&full),
                        endpoints_of(&alone),
                        "seed {seed} step {step}"
                    );
                    (full, alone)
                }
                (full, alone) => panic!(
                    "seed {seed} step {step}: full build {:?}, alone {:?}",
                    full.err(),
                    alone.err()
                ),
            };
            accepted += 1;
            let (full, alone) = changed;
            let serial = step + 2;
            let updated = tables
                .update(&current, &alone, serial)
                .expect("only endpoints changed");
            let updated = Arc::new(updated.tables);
            let built = Arc::new(Tables::build(&full, serial));
            assert_eq!(
                answers(&updated, &names, &clients),
                answers(&built, &names, &clients),
                "seed {seed} step {step}: after {all:#?}"
            );
            assert_eq!(updated.target_count(), built.target_count());
            order = others;
            match new {
                Some(t) => {
                    order.push(id);
                    text.insert(id, t);
                }
                None => {
                    text.remove(id);
                }
            }
            (current, tables) = (alone, updated);
        }
        assert!(
            accepted > 5 && refused > 5,
            "seed {seed}: {accepted} accepted, {refused} refused"
        );
    }
}

#[test]
fn an_update_shares_what_it_did_not_touch() {
    let mut endpoints = BTreeMap::new();
    let e0 = "[[endpoint]]\nid = \"e0\"\nvpc = \"v1\"\nservice = \"s1\"\n\
              custom_domain = true\nzones = [ { vswitch = \"sa\", ip = \"127.0.1.10\" } ]\n";
    endpoints.insert("e0", e0.to_string());
    let e1 = "[[endpoint]]\nid = \"e1\"\nvpc = \"v1\"\nservice = \"s1\"\n\
              zones = [ { vswitch = \"sa\", ip = \"127.0.1.20\" } ]\n";
    endpoints.insert("e1", e1.to_string());
    let before = model(&endpoints).expect("valid");
    let tables = Tables::build(&before, 1);
    endpoints.insert("e1", e1.replace("127.0.1.20", "127.0.1.21"));
    let after = model(&endpoints).expect("valid");
    let updated = tables.update(&before, &after, 2).unwrap().tables;
    let e0 = tables.placed.get("e0").unwrap().answers;
    assert!(
        Arc::ptr_eq(
            tables.endpoints.get(e0).unwrap(),
            updated.endpoints.get(e0).unwrap()
        ),
        "the unchanged endpoint's answers are shared"
    );
    assert!(Arc::ptr_eq(
        tables.placed.get("e0").unwrap(),
        updated.placed.get("e0").unwrap()
    ));
    let e1_before = tables.placed.get("e1").unwrap().slots.clone();
    let e1_after = updated.placed.get("e1").unwrap().slots.clone();
    assert_eq!(e1_before.len(), e1_after.len());
    assert_eq!(updated.targets.live(), tables.targets.live());
    assert_eq!(
        updated.targets.capacity(),
        tables.targets.capacity(),
        "the changed endpoint's freed slot is reused"
    );
}

#[test]
fn a_derived_publish_keeps_the_health_of_unchanged_enis_and_reads_the_new_ones() {
    use crate::probe::{HealthTable, State};
    use arc_swap::ArcSwap;

    let e = |id: &str, ip: &str| {
        format!(
            "[[endpoint]]\nid = \"{id}\"\nvpc = \"v1\"\nservice = \"s2\"\n\
             zones = [ {{ vswitch = \"sa\", ip = \"{ip}\" }} ]\n"
        )
    };
    let mut endpoints = BTreeMap::new();
    endpoints.insert("e0", e("e0", "127.0.1.10"));
    let before = model(&endpoints).expect("valid");
    let publisher = super::Publisher::new(Arc::new(Tables::build(&before, 1)));
    let health = HealthTable::default();
    health.set_unprobed(publisher.tables().targets().cloned());
    health.set_override("e0", "za", Some(State::Down)).unwrap();
    let into = ArcSwap::from_pointee(publisher.first(&health));
    let down = |s: &Snapshot, id: &str| {
        let (slot, _) = s
            .tables
            .targets
            .iter()
            .find(|(_, t)| t.endpoint == id)
            .unwrap();
        !s.up[slot as usize]
    };
    assert!(down(&into.load(), "e0"));

    endpoints.insert("e1", e("e1", "127.0.1.11"));
    let after = model(&endpoints).expect("valid");
    let updated = publisher.tables().update(&before, &after, 2).unwrap();
    let derived = publisher.derive(updated);
    let delta = derived.target_delta().expect("derived").clone();
    assert_eq!(delta.added.len(), 1);
    assert!(delta.removed.is_empty());
    health.change_unprobed(
        delta.removed.iter().map(|t| &**t),
        delta.added.iter().map(|t| &**t),
    );
    // A new ENI already forced down (an override outlives its endpoint
    // until pruned) is read as down: its slot is read, not assumed.
    health.set_override("e1", "za", Some(State::Down)).unwrap();
    health.take_changes();
    derived.publish(&into, &health);
    let s = into.load();
    assert!(Arc::ptr_eq(&s.tables, derived.tables()));
    assert!(down(&s, "e0"), "the unchanged ENI keeps its health");
    assert!(down(&s, "e1"), "the new ENI's health is read");
}

#[test]
fn tables_follow_between_two_models_changed_from_a_common_one() {
    // The control plane publishes a view and then another that branched
    // from the same model (the published view, then the desired one once
    // nothing is pending): the tables of one are updated to the other
    // from the changes on both sides.
    let (names, clients) = (names(), clients());
    let base = parse(BASE);
    let mut rng = Rng(0x5eed);
    let change = |m: &Model, rng: &mut Rng| -> Model {
        loop {
            let id = IDS[rng.below(IDS.len())];
            let new = (rng.below(4) != 0).then(|| endpoint(rng, id));
            let section = new
                .as_ref()
                .map(|t| parse(&format!("{BASE}{t}")).endpoint.remove(0));
            let index_of = |_: &str| 0;
            if let Ok(next) =
                crate::model::change_endpoint(m, &base, None, id, section.as_ref(), &index_of)
            {
                return next;
            }
        }
    };
    let mut common = model(&BTreeMap::new()).expect("the base config is valid");
    for _ in 0..6 {
        common = change(&common, &mut rng);
    }
    for round in 0..30 {
        let (mut from, mut to) = (common.clone(), common.clone());
        for _ in 0..rng.below(3) {
            from = change(&from, &mut rng);
        }
        for _ in 0..rng.below(3) {
            to = change(&to, &mut rng);
        }
        let updated = Tables::build(&from, 1)
            .update(&from, &to, 2)
            .expect("only endpoints changed");
        let updated = Arc::new(updated.tables);
        let built = Arc::new(Tables::build(&to, 2));
        assert_eq!(
            answers(&updated, &names, &clients),
            answers(&built, &names, &clients),
            "round {round}"
        );
        assert_eq!(updated.target_count(), built.target_count());
        common = to;
    }
}
