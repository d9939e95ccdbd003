//! The wire-level fast path answers the common questions without allocating:
//! the claim `dns/fast.rs` makes, counted with a global allocator.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use epdns::dns::client::{Origin, Transport};
use epdns::dns::message::{Outcome, respond_general};
use epdns::dns::metrics::Metrics;
use epdns::load::load_str;
use epdns::snapshot::{Snapshot, Tables};
use hickory_proto::op::{Edns, Message, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

const CFG: &str = r#"
[[vpc]]
id = "v"
region = "r1"
cidrs = ["127.0.0.0/16", "fd00::/16"]
[[vswitch]]
id = "sa"
vpc = "v"
zone = "za"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:1::/64"
[[vswitch]]
id = "sb"
vpc = "v"
zone = "zb"
cidr = "127.0.2.0/24"
ipv6_cidr = "fd00:2::/64"
[[service]]
id = "s"
region = "r1"
zone_affinity = true
dual_stack = true
[[endpoint]]
id = "endpoint-with-a-long-name"
vpc = "v"
service = "s"
ip_version = "dual-stack"
zone_affinity = true
zones = [ { vswitch = "sa", ip = "127.0.1.10", ipv6 = "fd00:1::10" },
          { vswitch = "sb", ip = "127.0.2.10", ipv6 = "fd00:2::10" } ]
[[endpoint]]
id = "v4only"
vpc = "v"
service = "s"
zones = [ { vswitch = "sa", ip = "127.0.1.11" } ]
"#;

fn packet(name: &str, qtype: RecordType, ecs: Option<&str>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Query;
    m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    if let Some(net) = ecs {
        e.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::from(
                ipnet::IpNet::from_str(net).unwrap(),
            )));
    }
    m.set_edns(e);
    m.to_vec().unwrap()
}

#[test]
fn the_fast_path_answers_without_allocating() {
    let model = load_str(CFG, Path::new("t.toml")).unwrap();
    let snapshot = Snapshot::all_up(Arc::new(Tables::build(&model, 1)));
    let metrics = Metrics::default();
    let origin = Origin {
        src: "127.0.1.50".parse().unwrap(),
        listener: SocketAddr::from(([127, 0, 0, 1], 53)),
        transport: Transport::Udp,
    };
    let ep = "Endpoint-With-A-Long-Name.s.r1.privatelink.aliyuncs.com.";
    let packets = [
        packet(ep, RecordType::A, None),
        packet(ep, RecordType::AAAA, None),
        packet(ep, RecordType::A, Some("127.0.2.0/24")),
        packet(ep, RecordType::AAAA, Some("fd00:2::/64")),
        packet(
            "endpoint-with-a-long-name-zb.s.r1.privatelink.aliyuncs.com.",
            RecordType::A,
            None,
        ),
        // NXDOMAIN and NODATA, with the negative SOA.
        packet("nope.s.r1.privatelink.aliyuncs.com.", RecordType::A, None),
        packet(
            "v4only.s.r1.privatelink.aliyuncs.com.",
            RecordType::AAAA,
            None,
        ),
    ];
    // The reply buffer is the transport's, reused from query to query.
    let mut out = Vec::with_capacity(4096);
    for p in &packets {
        let before = allocations();
        let taken = epdns::dns::fast::respond(&snapshot, &metrics, p, origin, &mut out);
        let allocated = allocations() - before;
        assert!(taken, "the fast path takes {:?}", Message::from_vec(p));
        assert_eq!(
            allocated,
            0,
            "allocations answering {:?}",
            Message::from_vec(p)
        );
    }

    // The counter works: the general path decodes into a `Message`.
    let before = allocations();
    let outcome = respond_general(&snapshot, &metrics, &packets[0], origin, &mut out);
    assert!(matches!(outcome, Outcome::Reply));
    assert!(allocations() > before);
}
