//! The one entry point both transports call: the wire-level fast path for
//! the common question, else the general path.

use super::client::{Origin, Transport};
use super::message::{Outcome, respond_general};
use super::metrics::Metrics;
use crate::snapshot::Snapshot;
use crate::xfr::{Handling, Transfers};

/// Answers one query message into `out` (cleared first).
pub fn respond(
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    origin: Origin,
    out: &mut Vec<u8>,
) -> Outcome {
    if super::fast::respond(snapshot, metrics, packet, origin, out) {
        return Outcome::Reply;
    }
    respond_general(snapshot, metrics, packet, origin, out)
}

/// `respond`, with the queries of a configured secondary that the fast
/// path declines answered through `xfr` (the fast path is the same).
pub(crate) fn respond_or_transfer(
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    origin: Origin,
    out: &mut Vec<u8>,
    xfr: Option<&Transfers>,
) -> Outcome {
    if super::fast::respond(snapshot, metrics, packet, origin, out) {
        return Outcome::Reply;
    }
    match xfr {
        Some(x) if x.is_secondary(origin.src) => {
            match secondary(x, snapshot, metrics, packet, origin, out) {
                Secondary::Messages(mut messages) => {
                    // Over UDP `xfr` answers with one message.
                    out.clear();
                    out.append(&mut messages[0]);
                    Outcome::Reply
                }
                Secondary::Outcome(o) => o,
            }
        }
        _ => respond_general(snapshot, metrics, packet, origin, out),
    }
}

/// What a secondary's query gets.
pub(crate) enum Secondary {
    /// A transfer (several messages over TCP), a refusal, or a zone's SOA.
    Messages(Vec<Vec<u8>>),
    /// What the general path answered into `out` (signed when the query was).
    Outcome(Outcome),
}

/// Answers a query from a configured secondary.
pub(crate) fn secondary(
    xfr: &Transfers,
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    origin: Origin,
    out: &mut Vec<u8>,
) -> Secondary {
    let tcp = matches!(origin.transport, Transport::Tcp);
    match xfr.handle(packet, origin.src, tcp) {
        Handling::Reply(messages) => {
            for m in &messages {
                metrics.count(crate::xfr::stream::rcode_of(m));
            }
            Secondary::Messages(messages)
        }
        Handling::General(general) => {
            let outcome = respond_general(snapshot, metrics, general.query(packet), origin, out);
            if let Outcome::Reply = outcome {
                general.finish(out);
            }
            Secondary::Outcome(outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::str::FromStr;
    use std::sync::Arc;

    use hickory_proto::op::{Edns, Message, OpCode, Query as HQuery};
    use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;
    use crate::dns::client::Transport;
    use crate::dns::fast;
    use crate::load::load_str;
    use crate::snapshot::{AllDownPolicy, Tables};

    const CFG: &str = r#"
[server]
degraded_ttl = 7
ecs_trusted = ["127.9.0.53"]
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
cidr = "127.0.2.0/25"
ipv6_cidr = "fd00:2::/64"
[[service]]
id = "s"
region = "r1"
zone_affinity = true
dual_stack = true
[[endpoint]]
id = "e"
vpc = "v"
service = "s"
ip_version = "dual-stack"
zone_affinity = true
zones = [ { vswitch = "sa", ip = "127.0.1.10", ipv6 = "fd00:1::10" },
          { vswitch = "sb", ip = "127.0.2.10", ipv6 = "fd00:2::10" } ]
[[endpoint]]
id = "p"
vpc = "v"
service = "s"
zones = [ { vswitch = "sa", ip = "127.0.1.11" } ]
[[endpoint]]
id = "x"
vpc = "v"
service = "s"
zones = [ { vswitch = "sa", ip = "127.0.1.12" }, { vswitch = "sb", ip = "127.0.2.12" } ]
"#;

    pub(super) fn snapshot(policy: AllDownPolicy, down: &[&str]) -> Snapshot {
        let model = load_str(CFG, Path::new("t.toml")).unwrap();
        let mut tables = Tables::build(&model, 9);
        tables.all_down = policy;
        let tables = Arc::new(tables);
        let up = tables
            .targets
            .values()
            .map(|t| !down.contains(&t.ip.to_string().as_str()))
            .collect();
        Snapshot { tables, up }
    }

    pub(super) fn query(name: &str, t: RecordType, edns: Option<(u16, Option<&str>)>) -> Vec<u8> {
        query_with(name, t, edns, Extras::default())
    }

    /// What a query may carry beyond name, type and EDNS size and ECS.
    #[derive(Debug, Clone, Copy, Default)]
    pub(super) struct Extras {
        /// The DO bit (only with EDNS).
        pub dnssec_ok: bool,
        /// The AD bit in the query (RFC 6840 §5.7).
        pub authentic_data: bool,
        /// An EDNS option no one has defined (code 65001), which a server
        /// ignores (RFC 6891 §6.1.2).
        pub unknown_option: bool,
    }

    pub(super) fn query_with(
        name: &str,
        t: RecordType,
        edns: Option<(u16, Option<&str>)>,
        extras: Extras,
    ) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.op_code = OpCode::Query;
        m.metadata.recursion_desired = name.len().is_multiple_of(2);
        m.metadata.checking_disabled = name.len().is_multiple_of(3);
        m.metadata.authentic_data = extras.authentic_data;
        m.add_query(HQuery::query(Name::from_str(name).unwrap(), t));
        if let Some((payload, ecs)) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            e.set_dnssec_ok(extras.dnssec_ok);
            if extras.unknown_option {
                e.options_mut()
                    .insert(EdnsOption::Unknown(65001, vec![1, 2, 3]));
            }
            if let Some(net) = ecs {
                let net = ipnet::IpNet::from_str(net).unwrap();
                e.options_mut()
                    .insert(EdnsOption::Subnet(ClientSubnet::from(net)));
            }
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    /// Both paths' raw replies; `None` for the fast one when it declined.
    fn both(
        s: &Snapshot,
        packet: &[u8],
        src: &str,
        transport: Transport,
    ) -> (Option<Vec<u8>>, Vec<u8>) {
        let origin = Origin {
            src: src.parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport,
        };
        let m = Metrics::default();
        let mut out = Vec::new();
        let fast = fast::respond(s, &m, packet, origin, &mut out).then_some(out);
        let mut out = Vec::new();
        assert!(matches!(
            respond_general(s, &m, packet, origin, &mut out),
            Outcome::Reply
        ));
        (fast, out)
    }

    /// The fast path must write exactly the bytes the general path writes,
    /// for every question it takes, and take the common ones: over UDP and
    /// TCP, with DO, CD and AD set or not, with an unknown EDNS option.
    #[test]
    fn fast_path_answers_as_the_general_path() {
        let names = [
            "e.s.r1.privatelink.aliyuncs.com.",
            "E.S.R1.PrivateLink.Aliyuncs.COM.",
            "p.s.r1.privatelink.aliyuncs.com.",
            "x.s.r1.privatelink.aliyuncs.com.",
            "e-za.s.r1.privatelink.aliyuncs.com.",
            "e-zb.s.r1.privatelink.aliyuncs.com.",
            "p-za.s.r1.privatelink.aliyuncs.com.",
            "nope.s.r1.privatelink.aliyuncs.com.",
            "nope.privatelink.aliyuncs.com.",
            "a.b.c.e.s.r1.privatelink.aliyuncs.com.",
            "s.r1.privatelink.aliyuncs.com.",
            "privatelink.aliyuncs.com.",
            "example.com.",
            "xprivatelink.aliyuncs.com.",
        ];
        let types = [
            RecordType::A,
            RecordType::AAAA,
            RecordType::MX,
            RecordType::ANY,
        ];
        let edns_cases: [Option<(u16, Option<&str>)>; 7] = [
            None,
            Some((512, None)),
            Some((4096, None)),
            Some((1232, Some("127.0.1.0/24"))),
            Some((1232, Some("127.0.2.77/25"))),
            Some((1232, Some("127.0.0.0/16"))),
            Some((1232, Some("fd00:2::/64"))),
        ];
        let healths: [(AllDownPolicy, &[&str]); 5] = [
            (AllDownPolicy::All, &[]),
            (AllDownPolicy::All, &["127.0.1.10"]),
            (
                AllDownPolicy::All,
                &["127.0.1.10", "127.0.2.10", "127.0.1.12", "127.0.2.12"],
            ),
            (
                AllDownPolicy::None,
                &["127.0.1.10", "127.0.2.10", "127.0.1.11"],
            ),
            (
                AllDownPolicy::ServFail,
                &["127.0.1.10", "127.0.2.10", "fd00:2::10"],
            ),
        ];
        // Each EDNS case with each of these (the name's length sets RD and
        // CD, so both occur with every other bit).
        let extras = [
            Extras::default(),
            Extras {
                dnssec_ok: true,
                ..Extras::default()
            },
            Extras {
                authentic_data: true,
                unknown_option: true,
                ..Extras::default()
            },
            Extras {
                dnssec_ok: true,
                authentic_data: true,
                unknown_option: true,
            },
        ];
        let mut taken = 0;
        let mut taken_with_do = 0;
        let mut compared = 0;
        for (policy, down) in healths {
            let s = snapshot(policy, down);
            for name in names {
                for t in types {
                    for edns in edns_cases {
                        for x in extras {
                            if edns.is_none() && (x.dnssec_ok || x.unknown_option) {
                                continue;
                            }
                            let p = query_with(name, t, edns, x);
                            // Members in each zone and in none, an outsider,
                            // a trusted resolver outside every VPC.
                            for src in [
                                "127.0.1.50",
                                "127.0.2.50",
                                "127.0.9.9",
                                "127.5.0.1",
                                "127.9.0.53",
                            ] {
                                for transport in [Transport::Udp, Transport::Tcp] {
                                    let (fast, general) = both(&s, &p, src, transport);
                                    compared += 1;
                                    let Some(fast) = fast else { continue };
                                    taken += 1;
                                    taken_with_do += usize::from(x.dnssec_ok);
                                    assert_eq!(
                                        fast,
                                        general,
                                        "{name} {t} {edns:?} {x:?} {transport:?} from {src}, \
                                         down {down:?}\nfast:    {:?}\ngeneral: {:?}",
                                        Message::from_vec(&fast),
                                        Message::from_vec(&general),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        // A/AAAA for endpoint and zone domains and NXDOMAIN under the apex,
        // in every EDNS case: the fast path must have taken most of them.
        assert!(taken > compared / 4, "fast path took {taken} of {compared}");
        assert!(taken_with_do > 0, "fast path never took a DO query");
    }

    /// A second VPC `w` (127.8.0.0/16) holding a private zone at `pz_name`,
    /// at or below the generated zone's apex, which turns the fast path off.
    fn shadowed_snapshot(dir: &Path, pz_name: &str) -> Snapshot {
        std::fs::write(
            dir.join("pz.zone"),
            "$TTL 300\n\
             @ IN SOA ns.pz. host.pz. 1 3600 600 86400 60\n\
             @ IN NS ns.pz.\n\
             e.s.r1.privatelink.aliyuncs.com. IN A 127.8.0.99\n\
             only.s.r1.privatelink.aliyuncs.com. IN A 127.8.0.98\n\
             only.s.r1.privatelink.aliyuncs.com. IN TXT \"w only\"\n",
        )
        .unwrap();
        let cfg = format!(
            "{CFG}\n[[vpc]]\nid = \"w\"\nregion = \"r1\"\ncidrs = [\"127.8.0.0/16\"]\n\
             [[private_zone]]\nname = \"{pz_name}\"\nfile = \"pz.zone\"\nvpcs = [\"w\"]\n"
        );
        let model = load_str(&cfg, &dir.join("t.toml")).unwrap();
        let tables = Arc::new(Tables::build(&model, 9));
        assert!(
            !tables.fast_path,
            "a private zone at {pz_name} shadows the apex"
        );
        Snapshot::all_up(tables)
    }

    /// With a VPC's private zone at or below the generated zone's apex the
    /// fast path is off: it declines every query, the general path answers
    /// the shadowing VPC from its private zone below the apex (names only
    /// that zone holds included) and everyone else with exactly the bytes
    /// the fast path gives when nothing shadows the apex.
    #[test]
    fn paths_agree_when_the_fast_path_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let plain = snapshot(AllDownPolicy::All, &[]);
        let names = [
            "e.s.r1.privatelink.aliyuncs.com.",
            "E-ZA.S.R1.privatelink.aliyuncs.com.",
            "only.s.r1.privatelink.aliyuncs.com.",
            "nope.s.r1.privatelink.aliyuncs.com.",
            "s.r1.privatelink.aliyuncs.com.",
            "privatelink.aliyuncs.com.",
        ];
        let extras = [
            Extras::default(),
            Extras {
                dnssec_ok: true,
                authentic_data: true,
                unknown_option: true,
            },
        ];
        let edns_cases: [Option<(u16, Option<&str>)>; 3] =
            [None, Some((1232, None)), Some((1232, Some("127.0.1.0/24")))];
        let mut same_as_fast = 0;
        let mut from_private_zone = 0;
        for pz_name in ["privatelink.aliyuncs.com", "s.r1.privatelink.aliyuncs.com"] {
            let shadowed = shadowed_snapshot(dir.path(), pz_name);
            // At the apex itself the generated zone wins the tie for names
            // it holds (`closest_source`), so `w` is answered as everyone.
            let pz_below_apex = pz_name != "privatelink.aliyuncs.com";
            for name in names {
                for t in [RecordType::A, RecordType::AAAA, RecordType::TXT] {
                    for edns in edns_cases {
                        for x in extras {
                            if edns.is_none() && x.dnssec_ok {
                                continue;
                            }
                            let p = query_with(name, t, edns, x);
                            // In VPC v, in the shadowing VPC w, in none.
                            for src in ["127.0.1.50", "127.8.0.7", "127.5.0.1"] {
                                for transport in [Transport::Udp, Transport::Tcp] {
                                    let what = format!(
                                        "{pz_name}: {name} {t} {edns:?} {x:?} \
                                         {transport:?} from {src}"
                                    );
                                    let (fast, general) = both(&shadowed, &p, src, transport);
                                    assert_eq!(fast, None, "fast path took {what}");
                                    let reply = Message::from_vec(&general).unwrap();
                                    assert_eq!(
                                        reply.metadata.id,
                                        Message::from_vec(&p).unwrap().metadata.id
                                    );
                                    if src == "127.8.0.7"
                                        && pz_below_apex
                                        && name != "privatelink.aliyuncs.com."
                                    {
                                        // The private zone's data, or its SOA.
                                        let data: Vec<String> = reply
                                            .answers
                                            .iter()
                                            .map(|r| r.data.to_string())
                                            .collect();
                                        let pz = if data.is_empty() {
                                            reply
                                                .authorities
                                                .iter()
                                                .any(|r| r.data.to_string().starts_with("ns.pz. "))
                                        } else {
                                            data.iter().all(|d| {
                                                d.starts_with("127.8.0.") || d.contains("w only")
                                            })
                                        };
                                        assert!(pz, "{what}: {reply:?}");
                                        from_private_zone += usize::from(!data.is_empty());
                                        continue;
                                    }
                                    if name.starts_with("only.") {
                                        assert!(reply.answers.is_empty(), "{what}: {reply:?}");
                                    }
                                    // With ECS the scope differs, rightly: once a
                                    // view shadows the apex the answer depends on
                                    // the client's VPC, so the scope is not 0.
                                    if edns.is_some_and(|(_, ecs)| ecs.is_some()) {
                                        continue;
                                    }
                                    let (plain_fast, _) = both(&plain, &p, src, transport);
                                    let Some(plain_fast) = plain_fast else {
                                        continue;
                                    };
                                    same_as_fast += 1;
                                    assert_eq!(
                                        plain_fast,
                                        general,
                                        "{what}\nfast:    {:?}\ngeneral: {:?}",
                                        Message::from_vec(&plain_fast),
                                        reply,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(
            same_as_fast > 100,
            "only {same_as_fast} compared with the fast path"
        );
        assert!(
            from_private_zone > 10,
            "only {from_private_zone} private-zone answers"
        );
    }

    /// RFC 3225 §3: the DO bit of the query is copied into the reply, on
    /// both paths, whatever the answer.
    /// Queries AFL found (fuzz/crashes/): names whose case made the two
    /// paths write different bytes.
    #[test]
    fn mixed_case_names_get_the_same_bytes_on_both_paths() {
        let s = snapshot(AllDownPolicy::All, &[]);
        for file in [
            "mixed-case-com-a",
            "mixed-case-com-soa",
            "mixed-case-aaaa-ecs",
        ] {
            let path = format!("{}/fuzz/crashes/{file}", env!("CARGO_MANIFEST_DIR"));
            let packet = std::fs::read(&path).unwrap();
            for transport in [Transport::Udp, Transport::Tcp] {
                let (fast, general) = both(&s, &packet, "127.0.1.5", transport);
                if let Some(fast) = fast {
                    assert_eq!(fast, general, "{file} over {transport:?}");
                }
            }
        }
    }

    #[test]
    fn do_bit_is_copied_on_both_paths() {
        let s = snapshot(AllDownPolicy::All, &[]);
        for name in [
            "e.s.r1.privatelink.aliyuncs.com.",
            "nope.privatelink.aliyuncs.com.",
            "privatelink.aliyuncs.com.",
            "example.com.",
        ] {
            for t in [RecordType::A, RecordType::SOA, RecordType::TXT] {
                for dnssec_ok in [false, true] {
                    let x = Extras {
                        dnssec_ok,
                        ..Extras::default()
                    };
                    let p = query_with(name, t, Some((1232, None)), x);
                    let (fast, general) = both(&s, &p, "127.0.1.50", Transport::Udp);
                    for reply in fast.iter().chain([&general]) {
                        let m = Message::from_vec(reply).unwrap();
                        let edns = m.edns.expect("OPT echoed");
                        assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "{name} {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn fast_path_declines_what_it_does_not_handle() {
        let s = snapshot(AllDownPolicy::All, &[]);
        let ep = "e.s.r1.privatelink.aliyuncs.com.";
        let origin = Origin {
            src: "127.0.0.1".parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
        };
        let m = Metrics::default();
        let mut out = Vec::new();
        let mut declines = |p: &[u8]| !fast::respond(&s, &m, p, origin, &mut out);
        // Opcode NOTIFY.
        let mut p = query(ep, RecordType::A, None);
        p[2] |= 4 << 3;
        assert!(declines(&p));
        // A response.
        let mut p = query(ep, RecordType::A, None);
        p[2] |= 0x80;
        assert!(declines(&p));
        // EDNS version 1.
        let mut p = query(ep, RecordType::A, Some((1232, None)));
        let opt = p.len() - 11;
        p[opt + 6] = 1;
        assert!(declines(&p));
        // Trailing garbage, truncated question, class CH.
        let mut p = query(ep, RecordType::A, None);
        p.push(0);
        assert!(declines(&p));
        let p = query(ep, RecordType::A, None);
        assert!(declines(&p[..p.len() - 1]));
        let mut p = query(ep, RecordType::A, None);
        let n = p.len();
        p[n - 1] = 3;
        assert!(declines(&p));
        // A name outside the zone.
        assert!(declines(&query("example.com.", RecordType::A, None)));
    }
}

#[cfg(test)]
mod robustness {
    use std::net::SocketAddr;

    use hickory_proto::rr::RecordType;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::dns::client::Transport;
    use crate::snapshot::AllDownPolicy;

    /// Malformed input gets FORMERR or is dropped, never a panic: mutated
    /// copies of valid queries (flipped bits, cut short, grown) and random
    /// bytes, through both paths.
    #[test]
    fn mutated_and_random_packets_never_panic() {
        let s = tests::snapshot(AllDownPolicy::All, &[]);
        let m = Metrics::default();
        let origin = Origin {
            src: "127.0.1.50".parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
        };
        let seeds: Vec<Vec<u8>> = [
            ("e.s.r1.privatelink.aliyuncs.com.", RecordType::A, None),
            (
                "e.s.r1.privatelink.aliyuncs.com.",
                RecordType::AAAA,
                Some("127.0.1.0/24"),
            ),
            (
                "e-za.s.r1.privatelink.aliyuncs.com.",
                RecordType::A,
                Some("::/0"),
            ),
            ("x.privatelink.aliyuncs.com.", RecordType::A, None),
            ("example.com.", RecordType::MX, None),
        ]
        .into_iter()
        .map(|(name, t, ecs)| tests::query(name, t, Some((1232, ecs))))
        .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut out = Vec::new();
        let mut replies = 0;
        for round in 0..200_000 {
            let mut p = seeds[round % seeds.len()].clone();
            match round % 4 {
                0 => {
                    for _ in 0..rng.random_range(1..4) {
                        let i = rng.random_range(0..p.len());
                        p[i] ^= 1 << rng.random_range(0..8);
                    }
                }
                1 => p.truncate(rng.random_range(0..p.len())),
                2 => {
                    let i = rng.random_range(0..p.len());
                    p[i] = rng.random();
                    p.extend((0..rng.random_range(0..8)).map(|_| rng.random::<u8>()));
                }
                _ => {
                    p = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
                }
            }
            if let Outcome::Reply = respond(&s, &m, &p, origin, &mut out) {
                replies += 1;
                assert!(out.len() >= 12);
                assert_eq!(out[..2], p[..2], "ID echoed");
            }
        }
        assert!(replies > 10_000, "only {replies} replies");
    }
}
