//! The domain: VPCs, vSwitches, endpoint services, interface endpoints and their
//! ENIs, after validation. Everything that serves DNS is built from these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::rr::Name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

#[derive(Debug, Clone)]
pub struct Model {
    pub server: ServerSettings,
    pub vpcs: Vec<Vpc>,
    pub vswitches: Vec<VSwitch>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub inbound: Vec<Inbound>,
    pub forward: Option<Forward>,
    pub private_zones: Vec<PrivateZoneDef>,
    /// Where the admin HTTP API listens, when enabled.
    pub admin: Option<SocketAddr>,
}

/// A private zone and the VPCs it is bound to; the zone file is loaded at
/// validation so that a bad file rejects the config like any other error.
#[derive(Debug, Clone)]
pub struct PrivateZoneDef {
    pub name: Name,
    pub file: std::path::PathBuf,
    pub vpcs: Vec<String>,
    pub zone: std::sync::Arc<crate::zonefile::PrivateZone>,
}

/// Queries arriving on `listen` are answered as for clients of `vpc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub listen: SocketAddr,
    pub vpc: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    pub upstreams: Vec<SocketAddr>,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub listen: Vec<SocketAddr>,
    /// Parent of every generated name, and apex of the generated zone.
    pub suffix: Name,
    pub ttl: u32,
    pub ecs: bool,
    /// Sources whose ECS address chooses the VPC view (trusted resolvers).
    pub ecs_trusted: Vec<IpNet>,
    pub udp_payload: u16,
    pub soa: SoaSettings,
    pub all_down: AllDownPolicy,
    /// TTL of an endpoint's answer while some of its ENIs are down.
    pub degraded_ttl: Option<u32>,
}

/// What to answer when every ENI of an endpoint domain is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllDownPolicy {
    /// Fail open: answer every ENI, as large providers do.
    #[default]
    All,
    /// NODATA with the SOA.
    None,
    ServFail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoaSettings {
    pub ttl: u32,
    pub refresh: i32,
    pub retry: i32,
    pub expire: i32,
    pub minimum: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub region: String,
    pub cidrs: Vec<IpNet>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VSwitch {
    pub id: String,
    pub vpc: String,
    pub zone: String,
    pub cidr: Ipv4Net,
    pub ipv6_cidr: Option<Ipv6Net>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub region: String,
    pub zone_affinity: bool,
    pub dual_stack: bool,
    pub custom_domain: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    Ipv4,
    DualStack,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub vpc: String,
    pub service: String,
    pub ip_version: IpVersion,
    pub zone_affinity: bool,
    pub custom_domain: bool,
    pub cross_region: bool,
    pub zones: Vec<EndpointZone>,
    /// How its ENIs are probed; `None`: not probed, always available.
    pub probe: Option<crate::probe::ProbeSettings>,
}

/// One zone of an endpoint: the ENI the endpoint has in that zone.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointZone {
    pub vswitch: String,
    /// The zone of `vswitch`, resolved at validation.
    pub zone: String,
    pub ip: Ipv4Addr,
    pub ipv6: Option<Ipv6Addr>,
}

impl EndpointZone {
    /// The ENI's addresses, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        std::iter::once(IpAddr::V4(self.ip)).chain(self.ipv6.map(IpAddr::V6))
    }
}

impl Model {
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn vpc(&self, id: &str) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id == id)
    }

    pub fn endpoint(&self, id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id == id)
    }
}
