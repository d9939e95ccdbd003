//! The answer path without sockets: decode a query, answer it from the
//! snapshot, encode the reply; and the cost of building a snapshot at 10,000
//! endpoints x 3 zones (what a reload costs) and of republishing one after a
//! health change (what a failover costs).
//!
//!     cargo bench --bench answer_path

use std::hint::black_box;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use criterion::{Criterion, criterion_group, criterion_main};
use epdns::dns::client::{Origin, Transport};
use epdns::dns::message::Outcome;
use epdns::dns::metrics::Metrics;
use epdns::dns::respond::respond;
use epdns::load::load_str;
use epdns::probe::{HealthTable, State};
use epdns::snapshot::{Publisher, Snapshot, Tables};
use hickory_proto::op::{Edns, Message, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

/// N dual-stack endpoints with zone affinity, 3 zones each (as bench/gen.py).
fn config(n: usize) -> String {
    let mut c = String::from(
        "[[vpc]]\nid = \"vpc\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.0.0.0/8\", \"fd00::/16\"]\n",
    );
    for z in 1..=3 {
        c += &format!(
            "[[vswitch]]\nid = \"vsw-{z}\"\nvpc = \"vpc\"\nzone = \"cn-hangzhou-{z}\"\n\
             cidr = \"127.{z}.0.0/16\"\nipv6_cidr = \"fd00:{z}::/64\"\n"
        );
    }
    c += "[[service]]\nid = \"epsrv\"\nregion = \"cn-hangzhou\"\nzone_affinity = true\ndual_stack = true\n";
    for i in 0..n {
        let (hi, lo) = ((i + 10) / 256, (i + 10) % 256);
        let zones: Vec<String> = (1..=3)
            .map(|z| {
                format!(
                    "{{ vswitch = \"vsw-{z}\", ip = \"127.{z}.{hi}.{lo}\", ipv6 = \"fd00:{z}::{:x}\" }}",
                    i + 10
                )
            })
            .collect();
        c += &format!(
            "[[endpoint]]\nid = \"ep-{i}\"\nvpc = \"vpc\"\nservice = \"epsrv\"\n\
             ip_version = \"dual-stack\"\nzone_affinity = true\nzones = [{}]\n",
            zones.join(", ")
        );
    }
    c
}

fn snapshot(n: usize) -> (Snapshot, epdns::model::Model) {
    let model = load_str(&config(n), Path::new("bench.toml")).expect("valid bench config");
    let tables = Arc::new(Tables::build(&model, 1));
    (Snapshot::all_up(tables), model)
}

fn packet(name: &str, qtype: RecordType, ecs: Option<&str>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Query;
    m.add_query(Query::query(name.parse::<Name>().unwrap(), qtype));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    if let Some(net) = ecs {
        e.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::from(
                net.parse::<ipnet::IpNet>().unwrap(),
            )));
    }
    m.set_edns(e);
    m.to_vec().unwrap()
}

fn answer_path(c: &mut Criterion) {
    let (snap, _) = snapshot(10_000);
    let metrics = Metrics::default();
    let origin = Origin {
        src: IpAddr::from([127, 0, 0, 1]),
        listener: SocketAddr::from(([127, 0, 0, 1], 5300)),
        transport: Transport::Udp,
    };
    let ep = "ep-4242.epsrv.cn-hangzhou.privatelink.aliyuncs.com.";
    let cases = [
        ("endpoint_a", packet(ep, RecordType::A, None)),
        ("endpoint_aaaa", packet(ep, RecordType::AAAA, None)),
        (
            "endpoint_a_ecs_affinity",
            packet(ep, RecordType::A, Some("127.2.0.0/24")),
        ),
        (
            "zone_domain_a",
            packet(
                "ep-4242-cn-hangzhou-2.epsrv.cn-hangzhou.privatelink.aliyuncs.com.",
                RecordType::A,
                None,
            ),
        ),
        (
            "nxdomain",
            packet(
                "ep-nx.epsrv.cn-hangzhou.privatelink.aliyuncs.com.",
                RecordType::A,
                None,
            ),
        ),
    ];
    let mut g = c.benchmark_group("answer_path_10k");
    let mut out = Vec::with_capacity(4096);
    for (name, p) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let r = respond(&snap, &metrics, black_box(p), origin, &mut out);
                assert!(matches!(r, Outcome::Reply));
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn rebuild(c: &mut Criterion) {
    let (snap, model) = snapshot(10_000);
    let mut g = c.benchmark_group("snapshot_10k_x3");
    g.sample_size(10);
    g.bench_function("tables_build_reload", |b| {
        b.iter(|| black_box(Tables::build(&model, 2)))
    });
    // After a reload: read every ENI's state.
    let health = HealthTable::default();
    health.set_unprobed(snap.tables.targets().cloned());
    g.bench_function("health_bits_full_read", |b| {
        b.iter(|| black_box(health.effective_up_of(snap.tables.targets())))
    });
    // A failover: one zone of one endpoint goes down (or up), and the server
    // patches the published bits (what the control loop does on every change).
    let publisher = Publisher::new(snap.tables.clone());
    let published = ArcSwap::from_pointee(publisher.first(&health));
    let _ = health.take_changes();
    let mut down = true;
    g.bench_function("republish_after_health_change", |b| {
        b.iter(|| {
            let state = if down { State::Down } else { State::Up };
            down = !down;
            health
                .set_override("ep-7", "cn-hangzhou-2", Some(state))
                .unwrap();
            publisher.publish(&published, &health);
            black_box(published.load().up.len())
        })
    });
    g.finish();
}

criterion_group!(benches, answer_path, rebuild);
criterion_main!(benches);
