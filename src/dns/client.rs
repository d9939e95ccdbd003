//! Who is asking: the source address, the listener a query arrived on and
//! its EDNS Client Subnet option become the `Client` an answer is made for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};

use crate::snapshot::{Client, Snapshot};

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

/// The client address the answer may depend on: the ECS address when present
/// and trusted (masked to its source prefix), else the source address. The
/// returned option is what to echo (RFC 7871 §7.2.1), `None` without ECS.
pub(crate) fn client_of(
    snapshot: &Snapshot,
    origin: Origin,
    edns: Option<&Edns>,
) -> Result<(Client, Option<ClientSubnet>), ()> {
    let t = &snapshot.tables;
    // The listener or the source address can be trusted with the VPC; an ECS
    // option may pick the view but never enables forwarding.
    let trusted_vpc = t.vpc_of(origin.src, origin.listener);
    let plain = Client {
        addr: origin.src,
        source_prefix: None,
        vpc: trusted_vpc,
        may_forward: trusted_vpc.is_some(),
    };
    let Some(EdnsOption::Subnet(ecs)) = edns.and_then(|e| e.option(EdnsCode::Subnet)) else {
        return Ok((plain, None));
    };
    if ecs.scope_prefix() != 0 {
        // RFC 7871 §6: SCOPE PREFIX-LENGTH must be 0 in queries.
        return Err(());
    }
    if !snapshot.tables.ecs {
        // Not trusting ECS means not supporting it: no option in the reply.
        return Ok((plain, None));
    }
    let prefix = ecs.source_prefix();
    let addr = mask(ecs.addr(), prefix).ok_or(())?;
    let vpc = t.vpc_of(addr, origin.listener).or(trusted_vpc);
    Ok((
        Client {
            addr,
            source_prefix: Some(prefix),
            vpc,
            may_forward: trusted_vpc.is_some(),
        },
        Some(*ecs),
    ))
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
