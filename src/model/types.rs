//! The domain: VPCs, vSwitches, endpoint services, interface endpoints and their
//! ENIs, after validation. Everything that serves DNS is built from these.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;

use hickory_proto::rr::Name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A config that passed every rule. Only validation makes one (`model::build`,
/// or `model::change_endpoint` from another valid model), and nothing
/// changes it afterwards, so what validation established holds wherever a
/// `Model` goes: every reference is resolved (`*_index` fields index the
/// model's own lists) and every generated name is built (`domain` fields,
/// `ServerSettings::ns_host`). Its parts are read through `Deref`
/// (`model.endpoints`).
#[derive(Debug, Clone)]
pub struct Model(ModelParts, Lineage);

/// Where a model comes from: its own identity (a clone keeps it: same
/// content), and the recent one-endpoint changes (`change_endpoint`) that
/// led to it. The answer tables of an earlier model in that line are
/// updated with only the endpoints changed since (`Model::changed_since`)
/// instead of comparing every endpoint.
#[derive(Debug, Clone)]
struct Lineage {
    id: u64,
    /// (the model a change started from, the endpoint it changed), oldest
    /// first; at most `MAX_STEPS`.
    steps: Vec<(u64, std::sync::Arc<str>)>,
}

/// Changes remembered per model: enough for the changes an API call or a
/// lifecycle step chains before the tables are updated; a model further
/// off is compared endpoint by endpoint.
const MAX_STEPS: usize = 64;

fn next_model_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What a `Model` holds.
#[derive(Debug, Clone)]
pub struct ModelParts {
    pub server: ServerSettings,
    pub(crate) vpcs: Vec<Vpc>,
    pub(crate) vswitches: Vec<VSwitch>,
    pub(crate) services: Vec<Service>,
    /// Persistent and shared: a model changed by one API write shares
    /// every other endpoint with the model before.
    pub endpoints: imbl::Vector<std::sync::Arc<Endpoint>>,
    pub(crate) inbound: Vec<Inbound>,
    pub(crate) forward: Option<Forward>,
    pub(crate) private_zones: Vec<PrivateZoneDef>,
    /// The admin HTTP API, when enabled.
    pub(crate) admin: Option<Admin>,
    /// The cloud-compatible control API, when enabled.
    pub(crate) cloud_api: Option<CloudApi>,
    /// What the endpoints claim (ids, ENI addresses, generated names,
    /// custom domains): what one endpoint's change is checked against.
    pub(crate) claims: super::validate::Claims,
    /// Zone transfers to standard secondaries (empty: none).
    pub(crate) transfer: Transfer,
}

/// `[[tsig_key]]` and `[[secondary]]`: who gets NOTIFY and may transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub(crate) keys: Vec<TsigKey>,
    pub(crate) secondaries: Vec<Secondary>,
}

/// A TSIG key (RFC 8945).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TsigKey {
    /// Lowercase, fully qualified: the key name on the wire.
    pub(crate) name: Name,
    pub(crate) algorithm: TsigAlgorithm,
    pub(crate) secret: std::sync::Arc<[u8]>,
}

impl std::fmt::Debug for TsigKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<set>")
            .finish()
    }
}

/// The TSIG algorithms epdns signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsigAlgorithm {
    HmacSha256,
    HmacSha512,
}

/// A standard secondary: NOTIFY goes to `address`, transfers are allowed
/// from its IP, signed with `key` (an index into `Transfer::keys`) when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secondary {
    pub(crate) address: SocketAddr,
    pub(crate) key: Option<usize>,
}

impl Model {
    /// Only validation calls this, once every rule has passed.
    pub(in crate::model) fn validated(parts: ModelParts) -> Model {
        Model(
            parts,
            Lineage {
                id: next_model_id(),
                steps: Vec::new(),
            },
        )
    }

    /// `from` with endpoint `id` changed (added, replaced or removed) into
    /// `parts`: nothing else differs.
    pub(in crate::model) fn changed(parts: ModelParts, from: &Model, id: &str) -> Model {
        let mut steps = from.1.steps.clone();
        if steps.len() == MAX_STEPS {
            steps.remove(0);
        }
        steps.push((from.1.id, id.into()));
        Model(
            parts,
            Lineage {
                id: next_model_id(),
                steps,
            },
        )
    }

    /// The ids of the endpoints that may differ between `earlier` and
    /// this model, when both come by recent one-endpoint changes from a
    /// common model (an id may repeat): those changed on this model's side
    /// (each put last: among the last `.0.len()` endpoints here) and those
    /// changed on `earlier`'s side only. `None` when the two are not in
    /// one line (then only a full comparison tells).
    pub fn changed_since<'a>(&'a self, earlier: &'a Model) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
        fn ids(steps: &[(u64, std::sync::Arc<str>)]) -> Vec<&str> {
            steps.iter().map(|(_, id)| &**id).collect()
        }
        let (mine, theirs) = (&self.1, &earlier.1);
        if mine.id == theirs.id {
            return Some((Vec::new(), Vec::new()));
        }
        if let Some(p) = mine.steps.iter().position(|(from, _)| *from == theirs.id) {
            return Some((ids(&mine.steps[p..]), Vec::new()));
        }
        if let Some(p) = theirs.steps.iter().position(|(from, _)| *from == mine.id) {
            return Some((Vec::new(), ids(&theirs.steps[p..])));
        }
        // Both changed from a common model: the latest one they share.
        let (p, q) = mine
            .steps
            .iter()
            .enumerate()
            .rev()
            .find_map(|(p, (from, _))| {
                let q = theirs.steps.iter().position(|(f, _)| f == from)?;
                Some((p, q))
            })?;
        Some((ids(&mine.steps[p..]), ids(&theirs.steps[q..])))
    }

    /// Inbound listeners as bound, from (configured, bound) address pairs: a
    /// listener configured on port 0 gets the port the kernel chose, so that
    /// the tables know the queries that arrive on it.
    pub(crate) fn bind_inbound(&mut self, bound: &[(SocketAddr, SocketAddr)]) {
        for i in &mut self.0.inbound {
            if let Some((_, addr)) = bound.iter().find(|(c, _)| *c == i.listen) {
                i.listen = *addr;
            }
        }
    }

    pub(crate) fn endpoint(&self, id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.id == id).map(|e| &**e)
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
pub(crate) struct PrivateZoneDef {
    pub(crate) name: Name,
    /// Where it was loaded from: the control API's calls reuse the zone
    /// loaded from the same file.
    pub(crate) file: std::path::PathBuf,
    /// The bound VPCs, as indexes into `Model::vpcs`.
    pub(crate) vpc_indexes: Vec<u32>,
    pub(crate) zone: std::sync::Arc<crate::zonefile::PrivateZone>,
}

/// The admin HTTP API: where it listens and the bearer token it asks for.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Admin {
    pub(crate) listen: SocketAddr,
    pub(crate) token: Option<std::sync::Arc<str>>,
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
    /// `[state] dir` or `[state] etcd`; `--state` overrides it.
    pub state: Option<crate::store::StateLocation>,
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
pub(crate) struct Inbound {
    pub(crate) listen: SocketAddr,
    pub(crate) vpc: String,
    /// `vpc` as an index into `Model::vpcs`.
    pub(crate) vpc_index: u32,
}

/// The same listener for the same VPC, wherever that VPC sits in the list
/// (the index follows from the id).
impl PartialEq for Inbound {
    fn eq(&self, other: &Self) -> bool {
        self.listen == other.listen && self.vpc == other.vpc
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forward {
    pub(crate) upstreams: Vec<SocketAddr>,
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub(crate) listen: Vec<SocketAddr>,
    /// Parent of every generated name, and apex of the generated zone.
    pub(crate) suffix: Name,
    /// The generated zone's name server, `ns.<suffix>`.
    pub(crate) ns_host: Name,
    /// The generated zone's contact mailbox, `hostmaster.<suffix>`.
    pub(crate) hostmaster: Name,
    pub(crate) ttl: u32,
    pub(crate) ecs: bool,
    /// Sources whose ECS address chooses the VPC view (trusted resolvers).
    pub ecs_trusted: Vec<IpNet>,
    pub(crate) udp_payload: u16,
    pub(crate) soa: SoaSettings,
    pub(crate) all_down: AllDownPolicy,
    /// TTL of an endpoint's answer while some of its ENIs are down.
    pub(crate) degraded_ttl: Option<u32>,
}

/// What to answer when every ENI of an endpoint domain is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum AllDownPolicy {
    /// Fail open: answer every ENI, as large providers do.
    #[default]
    All,
    /// NODATA with the SOA.
    None,
    ServFail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SoaSettings {
    pub(crate) ttl: u32,
    pub(crate) refresh: i32,
    pub(crate) retry: i32,
    pub(crate) expire: i32,
    pub(crate) minimum: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vpc {
    pub(crate) id: String,
    pub(crate) region: String,
    pub(crate) cidrs: Vec<IpNet>,
    /// The zones of its vSwitches, each once, in file order: what a
    /// `zone_index` indexes.
    pub(crate) zones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VSwitch {
    pub(crate) id: String,
    pub(crate) vpc: String,
    /// `vpc` as an index into `Model::vpcs`.
    pub(crate) vpc_index: u32,
    pub(crate) zone: String,
    /// `zone` as an index into its VPC's `zones`.
    pub(crate) zone_index: u32,
    pub(crate) cidr: Ipv4Net,
    pub(crate) ipv6_cidr: Option<Ipv6Net>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Service {
    pub(crate) id: String,
    pub(crate) region: String,
    pub(crate) zone_affinity: bool,
    pub(crate) dual_stack: bool,
    pub(crate) custom_domain: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpVersion {
    Ipv4,
    DualStack,
}

/// The cloud's endpoint types: an interface endpoint reaches a service
/// from a VPC; a reverse endpoint lets the service side reach into the
/// endpoint's VPC. Both get the same names here; a reverse one is IPv4
/// only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointType {
    Interface,
    Reverse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub(crate) id: String,
    pub(crate) vpc: String,
    /// `vpc` as an index into `Model::vpcs`.
    pub(crate) vpc_index: u32,
    pub(crate) service: String,
    pub(crate) endpoint_type: EndpointType,
    pub(crate) ip_version: IpVersion,
    pub(crate) zone_affinity: bool,
    /// The service's custom domain when this endpoint enables it: inside
    /// its VPC, that name answers like the endpoint domain.
    pub(crate) custom_domain: Option<Name>,
    pub(crate) cross_region: bool,
    /// The endpoint domain, `<endpoint>.<service>.<region>.<suffix>`.
    pub(crate) domain: Name,
    pub(crate) zones: Vec<EndpointZone>,
    /// How its ENIs are probed; `None`: not probed, always available.
    pub(crate) probe: Option<crate::probe::ProbeSettings>,
}

/// One zone of an endpoint: the ENI the endpoint has in that zone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EndpointZone {
    pub(crate) vswitch: String,
    /// The zone of `vswitch`, resolved at validation.
    pub(crate) zone: String,
    /// `zone` as an index into the endpoint's VPC's `zones`.
    pub(crate) zone_index: u32,
    pub(crate) ip: Ipv4Addr,
    pub(crate) ipv6: Option<Ipv6Addr>,
    /// The zone domain, `<endpoint>-<zone>.<service>.<region>.<suffix>`;
    /// none for a cross-region endpoint.
    pub(crate) domain: Option<Name>,
}
