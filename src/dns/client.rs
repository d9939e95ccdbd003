//! Who is asking: the source address, the listener a query arrived on and
//! its EDNS Client Subnet option become the `Client` an answer is made for,
//! and the rule that turns what the answer depended on into the ECS scope.
//!
//! Trust (RFC 7871 §11.1 leaves it to the server): an ECS address is a claim,
//! not a fact. It chooses the VPC view (custom domains, private zones, ENI
//! PTRs) only when a trusted resolver sends it (`[server] ecs_trusted`), and
//! a client already inside a VPC (by inbound listener or source address) may
//! use it only to pick a zone-affinity vSwitch within its own VPC. Anyone
//! else is answered for their own source address. Forwarding is never
//! enabled by ECS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use ipnet::IpNet;

use crate::snapshot::{Client, Depends, Tables};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Where a query came from: the client and the listener it arrived on.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub src: IpAddr,
    pub listener: SocketAddr,
    pub transport: Transport,
}

/// An ECS option of a query: its address masked to its source prefix.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EcsQuery {
    pub(crate) addr: IpAddr,
    pub(crate) source_prefix: u8,
}

/// How the ECS option was used, which says how the reply's scope prefix
/// follows from what the answer depended on (`scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcsUse {
    /// Not used, whatever address it holds (a source that is neither a
    /// trusted resolver nor inside a VPC): the answer holds for every ECS
    /// address.
    Ignored,
    /// Not used because its address is outside the client's own VPC: the
    /// source address chose the affinity zone, but only because of the ECS
    /// address's first `source_prefix` bits.
    OutsideOwnVpc { source_prefix: u8 },
    /// Used for zone affinity; the view was fixed by the listener or the
    /// source address.
    Affinity,
    /// Used for zone affinity and to choose the view (a trusted resolver);
    /// the first `view_scope` bits of the address decided the view.
    View { view_scope: u8 },
}

impl EcsUse {
    /// The reply's SCOPE PREFIX-LENGTH (RFC 7871 §7.2.1): how many leading
    /// bits of the ECS address the answer depended on, so that a cache in
    /// front shares it only among clients that would get the same answer.
    pub(crate) fn scope(self, depends: Depends) -> u8 {
        let affinity = depends.affinity.unwrap_or(0);
        match self {
            EcsUse::Ignored => 0,
            EcsUse::OutsideOwnVpc { source_prefix } => {
                if depends.affinity.is_some() {
                    source_prefix
                } else {
                    0
                }
            }
            EcsUse::Affinity => affinity,
            EcsUse::View { view_scope } if depends.view => affinity.max(view_scope),
            EcsUse::View { .. } => affinity,
        }
    }
}

/// The client of a query and how its ECS option (`ecs`, already masked; the
/// caller passes `None` when `[server] ecs` is off) was used.
pub(crate) fn judge(tables: &Tables, origin: Origin, ecs: Option<EcsQuery>) -> (Client, EcsUse) {
    let own = tables.vpc_of(origin.src, origin.listener);
    let plain = Client {
        addr: origin.src,
        source_prefix: None,
        vpc: own,
        // Only a VPC known from the listener or the source address: an ECS
        // option must not turn us into an open resolver.
        may_forward: own.is_some(),
    };
    let Some(ecs) = ecs else {
        return (plain, EcsUse::Ignored);
    };
    let with_ecs = Client {
        addr: ecs.addr,
        source_prefix: Some(ecs.source_prefix),
        ..plain
    };
    let trusted = tables.ecs_trusted.iter().any(|n| n.contains(&origin.src));
    if trusted && inbound_vpc(tables, origin.listener).is_none() {
        let (vpc, view_scope) = vpc_of_subnet(tables, ecs);
        return (Client { vpc, ..with_ecs }, EcsUse::View { view_scope });
    }
    match own {
        // An inbound listener fixes the view; a trusted resolver on it still
        // chooses the affinity zone.
        Some(_) if trusted => (with_ecs, EcsUse::Affinity),
        // Source prefix 0 asks that no address be used (RFC 7871 §7.1.2):
        // then no vSwitch matches and the answer is not narrowed.
        Some(_) if ecs.source_prefix == 0 => (with_ecs, EcsUse::Affinity),
        Some(vpc) if vpc_holds(tables, vpc, ecs) => (with_ecs, EcsUse::Affinity),
        Some(_) => (
            plain,
            EcsUse::OutsideOwnVpc {
                source_prefix: ecs.source_prefix,
            },
        ),
        None => (plain, EcsUse::Ignored),
    }
}

fn inbound_vpc(tables: &Tables, listener: SocketAddr) -> Option<u32> {
    tables
        .inbound
        .iter()
        .find(|(l, _)| *l == listener)
        .map(|(_, vpc)| *vpc)
}

/// Whether a CIDR of `vpc`, or of one of its vSwitches (a VPC may list no
/// IPv6 CIDR while its vSwitches have one), holds the ECS client. A CIDR
/// longer than the source prefix cannot be said to hold it (a /16 says
/// nothing about which /24), as for vSwitches.
fn vpc_holds(tables: &Tables, vpc: u32, ecs: EcsQuery) -> bool {
    let holds = |net: &IpNet| net.prefix_len() <= ecs.source_prefix && net.contains(&ecs.addr);
    let vswitches = &tables.vpcs[vpc as usize].subnets;
    tables
        .vpc_nets
        .iter()
        .any(|(net, v)| *v == vpc && holds(net))
        || vswitches.iter().any(|(net, _)| holds(net))
}

/// The VPC whose CIDR holds the ECS client (longest prefix, as `vpc_of`), and
/// how many leading bits of the address decided it: the CIDR's length when
/// every address in it belongs to that VPC, else (another VPC's CIDR nests
/// inside) the source prefix; with no VPC, the source prefix.
fn vpc_of_subnet(tables: &Tables, ecs: EcsQuery) -> (Option<u32>, u8) {
    let nets = &tables.vpc_nets;
    let found = nets
        .iter()
        .position(|(net, _)| net.prefix_len() <= ecs.source_prefix && net.contains(&ecs.addr));
    let Some(i) = found else {
        return (None, ecs.source_prefix);
    };
    let (net, vpc) = nets[i];
    // Longest prefix first: CIDRs nested in this one come before it.
    let nested_other = nets[..i]
        .iter()
        .any(|(inner, v)| *v != vpc && net.contains(inner));
    let scope = if nested_other {
        ecs.source_prefix
    } else {
        net.prefix_len()
    };
    (Some(vpc), scope)
}

/// The general path's reading of a query's ECS option: the client, and the
/// option to echo with how it was used (`None` without ECS, or when `[server]
/// ecs` is off: not supporting ECS means no option in the reply). `Err` for
/// an option RFC 7871 makes a FORMERR.
pub(crate) fn client_of(
    tables: &Tables,
    origin: Origin,
    edns: Option<&Edns>,
) -> Result<(Client, Option<(ClientSubnet, EcsUse)>), ()> {
    let option = match edns.and_then(|e| e.option(EdnsCode::Subnet)) {
        Some(EdnsOption::Subnet(ecs)) => Some(ecs),
        _ => None,
    };
    if let Some(ecs) = option
        && ecs.scope_prefix() != 0
    {
        // RFC 7871 §6: SCOPE PREFIX-LENGTH must be 0 in queries.
        return Err(());
    }
    let Some(ecs) = option.filter(|_| tables.ecs) else {
        return Ok((judge(tables, origin, None).0, None));
    };
    let query = EcsQuery {
        addr: mask(ecs.addr(), ecs.source_prefix()).ok_or(())?,
        source_prefix: ecs.source_prefix(),
    };
    let (client, used) = judge(tables, origin, Some(query));
    Ok((client, Some((*ecs, used))))
}

/// `addr` with the bits beyond `prefix` cleared; `None` if the prefix is too
/// long for the family.
pub(crate) fn mask(addr: IpAddr, prefix: u8) -> Option<IpAddr> {
    Some(match addr {
        IpAddr::V4(a) if prefix <= 32 => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) if prefix <= 128 => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::load_str;

    /// vpc a: 127.10.0.0/16 with vpc n nested inside (127.10.200.0/24);
    /// vpc b: 127.20.0.0/16; an inbound listener for b; one trusted resolver.
    const CFG: &str = r#"
[server]
ecs_trusted = ["127.40.0.53", "127.41.0.0/24"]
[[vpc]]
id = "a"
region = "r"
cidrs = ["127.10.0.0/16"]
[[vpc]]
id = "b"
region = "r"
cidrs = ["127.20.0.0/16"]
[[vpc]]
id = "n"
region = "r"
cidrs = ["127.10.200.0/24"]
[[vswitch]]
id = "a1"
vpc = "a"
zone = "z1"
cidr = "127.10.1.0/24"
ipv6_cidr = "fd00:a::/64"
[[inbound]]
listen = "127.0.0.2:53"
vpc = "b"
"#;

    fn tables() -> Tables {
        Tables::build(&load_str(CFG, Path::new("t.toml")).unwrap(), 1)
    }

    fn origin(src: &str, listener: &str) -> Origin {
        Origin {
            src: src.parse().unwrap(),
            listener: listener.parse().unwrap(),
            transport: Transport::Udp,
        }
    }

    const PLAIN: &str = "127.0.0.1:53";
    const INBOUND: &str = "127.0.0.2:53";

    fn ecs(net: &str) -> Option<EcsQuery> {
        let net: ipnet::IpNet = net.parse().unwrap();
        Some(EcsQuery {
            addr: net.network(),
            source_prefix: net.prefix_len(),
        })
    }

    const A: Option<u32> = Some(0);
    const B: Option<u32> = Some(1);
    const N: Option<u32> = Some(2);

    #[test]
    fn a_trusted_resolver_chooses_the_view() {
        let t = tables();
        for src in ["127.40.0.53", "127.41.0.9"] {
            let (c, used) = judge(&t, origin(src, PLAIN), ecs("127.20.1.0/24"));
            assert_eq!((c.vpc, used), (B, EcsUse::View { view_scope: 16 }));
            assert_eq!(c.addr.to_string(), "127.20.1.0");
            assert_eq!(c.source_prefix, Some(24));
            assert!(!c.may_forward, "ECS never enables forwarding");
        }
        let o = origin("127.40.0.53", PLAIN);
        // Vpc n's CIDR nests in a's: a's /16 alone did not decide, the
        // whole source prefix did.
        let (c, used) = judge(&t, o, ecs("127.10.1.0/24"));
        assert_eq!((c.vpc, used), (A, EcsUse::View { view_scope: 24 }));
        let (c, used) = judge(&t, o, ecs("127.10.200.128/25"));
        assert_eq!((c.vpc, used), (N, EcsUse::View { view_scope: 24 }));
        // A /16 cannot place the client in n's /24.
        let (c, used) = judge(&t, o, ecs("127.10.0.0/16"));
        assert_eq!((c.vpc, used), (A, EcsUse::View { view_scope: 16 }));
        // In no VPC, or not known precisely enough to be in one.
        let (c, used) = judge(&t, o, ecs("127.30.0.0/24"));
        assert_eq!((c.vpc, used), (None, EcsUse::View { view_scope: 24 }));
        let (c, used) = judge(&t, o, ecs("127.0.0.0/8"));
        assert_eq!((c.vpc, used), (None, EcsUse::View { view_scope: 8 }));
    }

    #[test]
    fn a_member_keeps_its_view_and_uses_ecs_only_inside_its_vpc() {
        let t = tables();
        let o = origin("127.10.1.50", PLAIN);
        let (c, used) = judge(&t, o, ecs("127.10.2.0/24"));
        assert_eq!((c.vpc, used), (A, EcsUse::Affinity));
        assert_eq!(c.addr.to_string(), "127.10.2.0");
        assert!(c.may_forward);
        // Another VPC's address: ignored, the source address decides.
        let (c, used) = judge(&t, o, ecs("127.20.1.0/24"));
        assert_eq!(
            (c.vpc, used),
            (A, EcsUse::OutsideOwnVpc { source_prefix: 24 })
        );
        assert_eq!(c.addr, o.src);
        assert_eq!(c.source_prefix, None);
        // Too short to be inside its VPC.
        let (_, used) = judge(&t, o, ecs("127.0.0.0/8"));
        assert_eq!(used, EcsUse::OutsideOwnVpc { source_prefix: 8 });
        // The VPC lists no IPv6 CIDR, its vSwitch does.
        let (c, used) = judge(&t, o, ecs("fd00:a::/64"));
        assert_eq!((c.vpc, used), (A, EcsUse::Affinity));
        let (_, used) = judge(&t, o, ecs("fd00:b::/64"));
        assert_eq!(used, EcsUse::OutsideOwnVpc { source_prefix: 64 });
        // Source prefix 0: no address to use, so none narrows the answer.
        let (c, used) = judge(&t, o, ecs("0.0.0.0/0"));
        assert_eq!((c.vpc, used), (A, EcsUse::Affinity));
        assert_eq!(c.source_prefix, Some(0));
        // On the inbound listener, the listener's VPC is the client's own.
        let o = origin("127.30.0.5", INBOUND);
        let (c, used) = judge(&t, o, ecs("127.20.1.0/24"));
        assert_eq!((c.vpc, used), (B, EcsUse::Affinity));
        let (c, used) = judge(&t, o, ecs("127.10.1.0/24"));
        assert_eq!(
            (c.vpc, used),
            (B, EcsUse::OutsideOwnVpc { source_prefix: 24 })
        );
        // A trusted resolver there: the listener's view, its ECS affinity.
        let (c, used) = judge(&t, origin("127.40.0.53", INBOUND), ecs("127.10.1.0/24"));
        assert_eq!((c.vpc, used), (B, EcsUse::Affinity));
        assert_eq!(c.source_prefix, Some(24));
    }

    #[test]
    fn anyone_else_is_answered_for_their_source_address() {
        let t = tables();
        let o = origin("127.30.0.5", PLAIN);
        for net in ["127.10.1.0/24", "127.20.1.0/24", "127.30.0.0/24"] {
            let (c, used) = judge(&t, o, ecs(net));
            assert_eq!((c.vpc, used), (None, EcsUse::Ignored), "{net}");
            assert_eq!(c.addr, o.src);
            assert_eq!(c.source_prefix, None);
            assert!(!c.may_forward);
        }
    }

    #[test]
    fn scope_says_what_the_answer_depended_on() {
        let d = |affinity, view| Depends { affinity, view };
        let cases = [
            (EcsUse::Ignored, d(Some(24), true), 0),
            (
                EcsUse::OutsideOwnVpc { source_prefix: 24 },
                d(None, true),
                0,
            ),
            (
                EcsUse::OutsideOwnVpc { source_prefix: 24 },
                d(Some(0), false),
                24,
            ),
            (EcsUse::Affinity, d(None, true), 0),
            (EcsUse::Affinity, d(Some(20), false), 20),
            (EcsUse::View { view_scope: 16 }, d(None, false), 0),
            (EcsUse::View { view_scope: 16 }, d(None, true), 16),
            (EcsUse::View { view_scope: 16 }, d(Some(24), true), 24),
            (EcsUse::View { view_scope: 16 }, d(Some(12), true), 16),
            (EcsUse::View { view_scope: 16 }, d(Some(12), false), 12),
        ];
        for (used, depends, want) in cases {
            assert_eq!(used.scope(depends), want, "{used:?} {depends:?}");
        }
    }
}
