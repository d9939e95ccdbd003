//! The domain: VPCs, vSwitches, endpoint services, interface endpoints and their
//! ENIs, after validation. Everything that serves DNS is built from these.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::rr::Name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub server: ServerSettings,
    pub vpcs: Vec<Vpc>,
    pub vswitches: Vec<VSwitch>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub inbound: Vec<Inbound>,
    pub forward: Option<Forward>,
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
    pub udp_payload: u16,
    pub soa: SoaSettings,
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
