//! The TOML file format, as written by the operator. Only syntax and types are
//! checked here; every rule lives in `model/` so that the control API and a config
//! file go through the same validation.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Every server setting has a default.
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub vpc: Vec<VpcSection>,
    #[serde(default)]
    pub vswitch: Vec<VswitchSection>,
    #[serde(default)]
    pub service: Vec<ServiceSection>,
    #[serde(default)]
    pub endpoint: Vec<EndpointSection>,
    #[serde(default)]
    pub private_zone: Vec<PrivateZoneSection>,
    #[serde(default)]
    pub inbound: Vec<InboundSection>,
    pub forward: Option<ForwardSection>,
    /// Probe defaults for every endpoint; services and endpoints override
    /// them field by field.
    pub probe: Option<ProbeSection>,
    pub admin: Option<AdminSection>,
    /// The cloud-compatible control API (PrivateLink / PrivateZone).
    pub api: Option<ApiSection>,
    /// The keys that may sign control API calls.
    #[serde(default)]
    pub access_key: Vec<AccessKeySection>,
    /// Where the control API's durable state lives.
    pub state: Option<StateSection>,
}

/// `[api]`: where the cloud-compatible control API listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    pub listen: String,
    /// How long a new endpoint stays Creating (and a new zone Connecting)
    /// before it is Active (Connected) and its names resolve.
    #[serde(default = "default_lifecycle_ms")]
    pub lifecycle_ms: u64,
}

/// `[[access_key]]`: an AccessKey pair the control API accepts.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKeySection {
    pub id: String,
    pub secret: Option<String>,
    /// The name of an environment variable holding the secret (keeps it out
    /// of the file).
    pub secret_env: Option<String>,
}

impl std::fmt::Debug for AccessKeySection {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeySection")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("secret_env", &self.secret_env)
            .finish()
    }
}

/// `[state]`: the folder of the durable state store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    pub dir: String,
}

/// Probe settings; every field optional so that levels can be layered:
/// built-in defaults < `[probe]` < service `probe` < endpoint `probe`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSection {
    /// "icmp", "tcp", "http", "https", or "none" (not probed: always
    /// available).
    pub kind: Option<String>,
    pub port: Option<u16>,
    pub path: Option<String>,
    /// Healthy HTTP statuses: codes and ranges, `[200, 204, "300-399"]`.
    pub expect: Option<Vec<StatusSpec>>,
    /// HTTPS: check the ENI's certificate (off by default: lab services
    /// mostly have self-signed ones).
    pub tls_verify: Option<bool>,
    /// HTTPS: the name sent as SNI and checked against the certificate;
    /// without it the ENI's address.
    pub server_name: Option<String>,
    /// HTTPS: PEM file of the CAs to trust when verifying (relative to the
    /// config file); without it the system's trust store.
    pub ca_file: Option<String>,
    pub interval_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub fall: Option<u32>,
    pub rise: Option<u32>,
}

/// One entry of a probe's `expect`: a status code, or a range written
/// `"200-299"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    Code(u16),
    Range(String),
}

/// The admin HTTP API (status, overrides, events, metrics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    #[serde(default = "default_admin_listen")]
    pub listen: String,
    /// Bearer token every request must carry; required off loopback.
    pub token: Option<String>,
    /// The name of an environment variable holding the token (keeps it out
    /// of the file).
    pub token_env: Option<String>,
}

/// A PrivateZone zone: an RFC 1035 zone file answered only to the VPCs it is
/// bound to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateZoneSection {
    pub name: String,
    /// Relative paths are relative to the config file's folder.
    pub file: String,
    pub vpcs: Vec<String>,
}

/// An inbound listener: queries arriving on it are answered as for `vpc`
/// (on-premises resolvers forward to it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundSection {
    pub listen: String,
    pub vpc: String,
}

/// Resolver mode: names outside everything epdns serves are forwarded for
/// clients of known VPCs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardSection {
    pub upstreams: Vec<String>,
    #[serde(default = "default_forward_timeout_ms")]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    #[serde(default = "default_suffix")]
    pub suffix: String,
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// Trust the EDNS Client Subnet option for zone affinity (RFC 7871).
    #[serde(default = "default_true")]
    pub ecs: bool,
    /// Resolvers (addresses or CIDRs) whose ECS option may choose the VPC
    /// view; nobody else's does.
    #[serde(default)]
    pub ecs_trusted: Vec<String>,
    /// Largest UDP answer we send, whatever the client advertises (RFC 9715
    /// recommends 1232 to stay below common path MTUs).
    #[serde(default = "default_udp_payload")]
    pub udp_payload: u16,
    #[serde(default)]
    pub soa: SoaSection,
    /// When every ENI of an endpoint is down: "all" (fail open), "none"
    /// (NODATA) or "servfail".
    #[serde(default = "default_all_down")]
    pub all_down: String,
    /// TTL of an endpoint's answer while some of its ENIs are down, so that
    /// resolvers ask again soon after a failover.
    pub degraded_ttl: Option<u32>,
}

impl Default for ServerSection {
    fn default() -> Self {
        toml::from_str("").expect("every [server] field has a default")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaSection {
    #[serde(default = "default_soa_ttl")]
    pub ttl: u32,
    #[serde(default = "default_refresh")]
    pub refresh: i32,
    #[serde(default = "default_retry")]
    pub retry: i32,
    #[serde(default = "default_expire")]
    pub expire: i32,
    /// Negative-caching TTL (RFC 2308): NXDOMAIN/NODATA are cached for
    /// min(SOA TTL, minimum).
    #[serde(default = "default_minimum")]
    pub minimum: u32,
}

impl Default for SoaSection {
    fn default() -> Self {
        Self {
            ttl: default_soa_ttl(),
            refresh: default_refresh(),
            retry: default_retry(),
            expire: default_expire(),
            minimum: default_minimum(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcSection {
    pub id: String,
    pub region: String,
    pub cidrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VswitchSection {
    pub id: String,
    pub vpc: String,
    pub zone: String,
    pub cidr: String,
    pub ipv6_cidr: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub id: String,
    pub region: String,
    #[serde(default)]
    pub zone_affinity: bool,
    #[serde(default)]
    pub dual_stack: bool,
    pub custom_domain: Option<String>,
    pub probe: Option<ProbeSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSection {
    pub id: String,
    pub vpc: String,
    pub service: String,
    #[serde(default = "default_ip_version")]
    pub ip_version: String,
    #[serde(default)]
    pub zone_affinity: bool,
    #[serde(default)]
    pub custom_domain: bool,
    #[serde(default)]
    pub cross_region: bool,
    #[serde(default)]
    pub zones: Vec<EndpointZoneSection>,
    pub probe: Option<ProbeSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointZoneSection {
    pub vswitch: String,
    pub ip: String,
    pub ipv6: Option<String>,
}

fn default_listen() -> Vec<String> {
    vec!["127.0.0.1:5300".to_string()]
}
fn default_suffix() -> String {
    "privatelink.aliyuncs.com".to_string()
}
fn default_ttl() -> u32 {
    60
}
fn default_true() -> bool {
    true
}
fn default_udp_payload() -> u16 {
    1232
}
fn default_soa_ttl() -> u32 {
    3600
}
fn default_refresh() -> i32 {
    3600
}
fn default_retry() -> i32 {
    600
}
fn default_expire() -> i32 {
    86400
}
fn default_minimum() -> u32 {
    60
}
fn default_all_down() -> String {
    "all".to_string()
}
fn default_admin_listen() -> String {
    "127.0.0.1:8053".to_string()
}
fn default_forward_timeout_ms() -> u64 {
    2000
}
fn default_lifecycle_ms() -> u64 {
    500
}
fn default_ip_version() -> String {
    "ipv4".to_string()
}
