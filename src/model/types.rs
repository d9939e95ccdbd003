//! The domain: VPCs, vSwitches, endpoint services, interface endpoints and their
//! ENIs, after validation. Everything that serves DNS is built from these.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;

use hickory_proto::rr::Name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A config that passed every rule. Only `model::build` makes one, and nothing
/// changes it afterwards, so what validation established holds wherever a
/// `Model` goes: every reference is resolved (`*_index` fields index the
/// model's own lists) and every generated name is built (`domain` fields,
/// `ServerSettings::ns_host`). Its parts are read through `Deref`
/// (`model.endpoints`).
#[derive(Debug, Clone)]
pub struct Model(ModelParts);

/// What a `Model` holds.
#[derive(Debug, Clone)]
pub struct ModelParts {
    pub server: ServerSettings,
    pub vpcs: Vec<Vpc>,
    pub vswitches: Vec<VSwitch>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub inbound: Vec<Inbound>,
    pub forward: Option<Forward>,
    pub private_zones: Vec<PrivateZoneDef>,
    /// The admin HTTP API, when enabled.
    pub admin: Option<Admin>,
    /// The cloud-compatible control API, when enabled.
    pub cloud_api: Option<CloudApi>,
}

impl Model {
    /// Only validation calls this, once every rule has passed.
    pub(in crate::model) fn validated(parts: ModelParts) -> Model {
        Model(parts)
    }

    /// Inbound listeners as bound, from (configured, bound) address pairs: a
    /// listener configured on port 0 gets the port the kernel chose, so that
    /// the tables know the queries that arrive on it.
    pub fn bind_inbound(&mut self, bound: &[(SocketAddr, SocketAddr)]) {
        for i in &mut self.0.inbound {
            if let Some((_, addr)) = bound.iter().find(|(c, _)| *c == i.listen) {
                i.listen = *addr;
            }
        }
    }

    pub fn endpoint(&self, id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id == id)
    }
}

impl Deref for Model {
    type Target = ModelParts;

    fn deref(&self) -> &ModelParts {
        &self.0
    }
}

/// A private zone and the VPCs it is bound to; the zone file is loaded at
/// validation so that a bad file rejects the config like any other error.
#[derive(Debug, Clone)]
pub struct PrivateZoneDef {
    pub name: Name,
    pub file: std::path::PathBuf,
    pub vpcs: Vec<String>,
    /// `vpcs` as indexes into `Model::vpcs`.
    pub vpc_indexes: Vec<u32>,
    pub zone: std::sync::Arc<crate::zonefile::PrivateZone>,
}

/// The admin HTTP API: where it listens and the bearer token it asks for.
#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    pub listen: SocketAddr,
    pub token: Option<std::sync::Arc<str>>,
}

impl std::fmt::Debug for Admin {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// The cloud-compatible control API: where it listens, how long the
/// lifecycle states last, the keys it accepts and where its state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudApi {
    pub listen: SocketAddr,
    pub lifecycle: std::time::Duration,
    pub keys: Vec<AccessKey>,
    /// `[state] dir`; `--state` overrides it.
    pub state_dir: Option<std::path::PathBuf>,
}

/// An AccessKey pair that may sign control API calls.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: std::sync::Arc<str>,
}

impl std::fmt::Debug for AccessKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<set>")
            .finish()
    }
}

/// Queries arriving on `listen` are answered as for clients of `vpc`.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub listen: SocketAddr,
    pub vpc: String,
    /// `vpc` as an index into `Model::vpcs`.
    pub vpc_index: u32,
}

/// The same listener for the same VPC, wherever that VPC sits in the list
/// (the index follows from the id).
impl PartialEq for Inbound {
    fn eq(&self, other: &Self) -> bool {
        self.listen == other.listen && self.vpc == other.vpc
    }
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
    /// The generated zone's name server, `ns.<suffix>`.
    pub ns_host: Name,
    /// The generated zone's contact mailbox, `hostmaster.<suffix>`.
    pub hostmaster: Name,
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
    /// The zones of its vSwitches, each once, in file order: what a
    /// `zone_index` indexes.
    pub zones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VSwitch {
    pub id: String,
    pub vpc: String,
    /// `vpc` as an index into `Model::vpcs`.
    pub vpc_index: u32,
    pub zone: String,
    /// `zone` as an index into its VPC's `zones`.
    pub zone_index: u32,
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
    /// `vpc` as an index into `Model::vpcs`.
    pub vpc_index: u32,
    pub service: String,
    pub ip_version: IpVersion,
    pub zone_affinity: bool,
    /// The service's custom domain when this endpoint enables it: inside
    /// its VPC, that name answers like the endpoint domain.
    pub custom_domain: Option<Name>,
    pub cross_region: bool,
    /// The endpoint domain, `<endpoint>.<service>.<region>.<suffix>`.
    pub domain: Name,
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
    /// `zone` as an index into the endpoint's VPC's `zones`.
    pub zone_index: u32,
    pub ip: Ipv4Addr,
    pub ipv6: Option<Ipv6Addr>,
    /// The zone domain, `<endpoint>-<zone>.<service>.<region>.<suffix>`;
    /// none for a cross-region endpoint.
    pub domain: Option<Name>,
}
