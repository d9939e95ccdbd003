//! AFL++ target: any bytes, as a query, through both answer paths.
//!
//! For every input, from several clients over UDP and TCP, against a snapshot
//! with the fast path on (one ENI down) and one with it off (a VPC's private
//! zone below the generated apex): no panic; a reply echoes the query's ID;
//! when the fast path answers, the general path writes the same bytes; and
//! `respond` writes what the path that answered wrote. A failed check
//! panics, which the `fuzz!` harness turns into the abort AFL records.
//!
//! Build and run with `fuzz/run.sh SECONDS`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use epdns::dns::client::{Origin, Transport};
use epdns::dns::message::{Outcome, respond_general};
use epdns::dns::metrics::Metrics;
use epdns::dns::{fast, respond::respond};
use epdns::load::load_str;
use epdns::snapshot::{Snapshot, Tables};

/// `fuzz.toml`, plus a VPC `w` whose private zone sits below the generated
/// zone's apex (which turns the fast path off).
const SHADOW: &str = r#"
[[private_zone]]
name = "s.r1.privatelink.aliyuncs.com"
file = "shadow.zone"
vpcs = ["w"]
"#;

/// A member of each vSwitch, of VPC w, an outsider, the trusted ECS resolver.
const SOURCES: [&str; 6] = [
    "127.0.1.50",
    "127.0.2.50",
    "127.8.0.7",
    "127.5.0.1",
    "127.9.0.53",
    "fd00:2::50",
];

/// `down`: how many ENI addresses, in config order, are unavailable.
fn snapshot(text: &str, down: usize) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz.toml");
    let model = load_str(text, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tables = Arc::new(Tables::build(&model, 1));
    let up = (0..tables.target_count()).map(|i| i >= down).collect();
    Snapshot { tables, up }
}

fn check(snapshot: &Snapshot, metrics: &Metrics, packet: &[u8], origin: Origin) {
    let mut fast_out = Vec::new();
    let fast_took = fast::respond(snapshot, metrics, packet, origin, &mut fast_out);
    let mut general = Vec::new();
    let general_outcome = respond_general(snapshot, metrics, packet, origin, &mut general);
    let mut both = Vec::new();
    let outcome = respond(snapshot, metrics, packet, origin, &mut both);
    if fast_took {
        assert!(
            matches!(general_outcome, Outcome::Reply),
            "the general path declined what the fast path answered"
        );
        assert_eq!(fast_out, general, "fast and general paths differ");
        assert!(matches!(outcome, Outcome::Reply));
        assert_eq!(both, fast_out, "respond differs from the fast path");
    }
    if let Outcome::Reply = general_outcome {
        assert!(
            packet.len() >= 2 && general.len() >= 12,
            "reply without a header"
        );
        assert_eq!(general[..2], packet[..2], "ID not echoed");
        if !fast_took {
            assert_eq!(both, general, "respond differs from the general path");
        }
    }
    if let Outcome::Reply = outcome {
        assert_eq!(both[..2], packet[..2], "ID not echoed");
    }
}

fn main() {
    let text = include_str!("../fuzz.toml");
    let snapshots = [snapshot(text, 1), snapshot(&format!("{text}{SHADOW}"), 0)];
    let metrics = Metrics::default();
    // The first snapshot exercises the fast path, the second only the general.
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/a-endpoint");
    let seed = std::fs::read(&seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
    let origin = |src: &str, transport| Origin {
        src: src.parse().unwrap(),
        listener: SocketAddr::from(([127, 0, 0, 1], 53)),
        transport,
    };
    let mut out = Vec::new();
    for (snapshot, fast_path) in snapshots.iter().zip([true, false]) {
        let took = fast::respond(
            snapshot,
            &metrics,
            &seed,
            origin(SOURCES[0], Transport::Udp),
            &mut out,
        );
        assert_eq!(took, fast_path, "fast path on the seed a-endpoint");
    }
    let origins: Vec<Origin> = SOURCES
        .iter()
        .flat_map(|src| [Transport::Udp, Transport::Tcp].map(|transport| origin(src, transport)))
        .collect();
    afl::fuzz!(|packet: &[u8]| {
        for snapshot in &snapshots {
            for origin in &origins {
                check(snapshot, &metrics, packet, *origin);
            }
        }
    });
}
