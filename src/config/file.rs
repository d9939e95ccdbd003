//! The TOML file format, as written by the operator. Only syntax and types are
//! checked here; every rule lives in `model/` so that the control API and a config
//! file go through the same validation.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Every server setting has a default.
    #[serde(default)]
    pub(crate) server: ServerSection,
    #[serde(default)]
    pub(crate) vpc: Vec<VpcSection>,
    #[serde(default)]
    pub(crate) vswitch: Vec<VswitchSection>,
    #[serde(default)]
    pub(crate) service: Vec<ServiceSection>,
    #[serde(default)]
    pub(crate) endpoint: Vec<EndpointSection>,
    #[serde(default)]
    pub(crate) private_zone: Vec<PrivateZoneSection>,
    #[serde(default)]
    pub(crate) inbound: Vec<InboundSection>,
    pub(crate) forward: Option<ForwardSection>,
    /// Probe defaults for every endpoint; services and endpoints override
    /// them field by field.
    pub(crate) probe: Option<ProbeSection>,
    pub(crate) admin: Option<AdminSection>,
    /// The cloud-compatible control API (PrivateLink / PrivateZone).
    pub(crate) api: Option<ApiSection>,
    /// The keys that may sign control API calls.
    #[serde(default)]
    pub(crate) access_key: Vec<AccessKeySection>,
    /// Where the control API's durable state lives.
    pub(crate) state: Option<StateSection>,
    /// TSIG keys for zone transfers and NOTIFY.
    #[serde(default)]
    pub(crate) tsig_key: Vec<TsigKeySection>,
    /// Standard secondaries: they get NOTIFY and may transfer.
    #[serde(default)]
    pub(crate) secondary: Vec<SecondarySection>,
}

/// `[[tsig_key]]`: a shared secret that signs transfers and NOTIFY (RFC 8945).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TsigKeySection {
    pub(crate) name: String,
    /// "hmac-sha256" or "hmac-sha512".
    pub(crate) algorithm: String,
    /// Base64, as `tsig-keygen` and `keymgr -t` print it.
    pub(crate) secret: Option<String>,
    /// The name of an environment variable holding the base64 secret.
    pub(crate) secret_env: Option<String>,
}

impl std::fmt::Debug for TsigKeySection {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKeySection")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("secret_env", &self.secret_env)
            .finish()
    }
}

/// `[[secondary]]`: a standard secondary name server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecondarySection {
    /// Where NOTIFY goes (ip:port); transfers are allowed from this IP.
    pub(crate) address: String,
    /// The `[[tsig_key]]` that signs its transfers and NOTIFY.
    pub(crate) tsig_key: Option<String>,
}

/// `[api]`: where the cloud-compatible control API listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiSection {
    pub(crate) listen: String,
    /// How long a new endpoint stays Creating (and a new zone Connecting)
    /// before it is Active (Connected) and its names resolve.
    #[serde(default = "default_lifecycle_ms")]
    pub(crate) lifecycle_ms: u64,
    /// The port of the inbound listeners of resolver endpoints created
    /// through the API (each listens on its addresses, this port).
    #[serde(default = "default_inbound_port")]
    pub(crate) inbound_port: u16,
}

/// `[[access_key]]`: an AccessKey pair the control API accepts.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessKeySection {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
    /// The name of an environment variable holding the secret (keeps it out
    /// of the file).
    pub(crate) secret_env: Option<String>,
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

/// `[state]`: where the durable state lives: a folder (`dir`, the embedded
/// store) or etcd (`etcd = "etcd://HOST:PORT[,…]/PREFIX"`), one of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateSection {
    pub(crate) dir: Option<String>,
    pub(crate) etcd: Option<String>,
}

/// Probe settings; every field optional so that levels can be layered:
/// built-in defaults < `[probe]` < service `probe` < endpoint `probe`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeSection {
    /// "icmp", "tcp", "http", "https", or "none" (not probed: always
    /// available).
    pub(crate) kind: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) path: Option<String>,
    /// Healthy HTTP statuses: codes and ranges, `[200, 204, "300-399"]`.
    pub(crate) expect: Option<Vec<StatusSpec>>,
    /// HTTPS: check the ENI's certificate (off by default: lab services
    /// mostly have self-signed ones).
    pub(crate) tls_verify: Option<bool>,
    /// HTTPS: the name sent as SNI and checked against the certificate;
    /// without it the ENI's address.
    pub(crate) server_name: Option<String>,
    /// HTTPS: PEM file of the CAs to trust when verifying (relative to the
    /// config file); without it the system's trust store.
    pub(crate) ca_file: Option<String>,
    pub(crate) interval_ms: Option<u64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) fall: Option<u32>,
    pub(crate) rise: Option<u32>,
}

/// One entry of a probe's `expect`: a status code, or a range written
/// `"200-299"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum StatusSpec {
    Code(u16),
    Range(String),
}

/// The admin HTTP API (status, overrides, events, metrics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminSection {
    #[serde(default = "default_admin_listen")]
    pub(crate) listen: String,
    /// Bearer token every request must carry; required off loopback.
    pub(crate) token: Option<String>,
    /// The name of an environment variable holding the token (keeps it out
    /// of the file).
    pub(crate) token_env: Option<String>,
}

/// A PrivateZone zone: an RFC 1035 zone file answered only to the VPCs it is
/// bound to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrivateZoneSection {
    pub(crate) name: String,
    /// Relative paths are relative to the config file's folder.
    pub(crate) file: String,
    pub(crate) vpcs: Vec<String>,
    /// "rfc1035" (the default: the file has its SOA and NS) or
    /// "privatezone" (the zone synthesizes them; a CNAME may sit at `@`).
    #[serde(default = "default_zone_style")]
    pub(crate) style: String,
}

/// An inbound listener: queries arriving on it are answered as for `vpc`
/// (on-premises resolvers forward to it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InboundSection {
    pub(crate) listen: String,
    pub(crate) vpc: String,
}

/// Resolver mode: names outside everything epdns serves are forwarded for
/// clients of known VPCs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardSection {
    pub(crate) upstreams: Vec<String>,
    #[serde(default = "default_forward_timeout_ms")]
    pub(crate) timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    #[serde(default = "default_listen")]
    pub(crate) listen: Vec<String>,
    #[serde(default = "default_suffix")]
    pub(crate) suffix: String,
    #[serde(default = "default_ttl")]
    pub(crate) ttl: u32,
    /// Trust the EDNS Client Subnet option for zone affinity (RFC 7871).
    #[serde(default = "default_true")]
    pub(crate) ecs: bool,
    /// Resolvers (addresses or CIDRs) whose ECS option may choose the VPC
    /// view; nobody else's does.
    #[serde(default)]
    pub(crate) ecs_trusted: Vec<String>,
    /// Largest UDP answer we send, whatever the client advertises (RFC 9715
    /// recommends 1232 to stay below common path MTUs).
    #[serde(default = "default_udp_payload")]
    pub(crate) udp_payload: u16,
    #[serde(default)]
    pub(crate) soa: SoaSection,
    /// When every ENI of an endpoint is down: "all" (fail open), "none"
    /// (NODATA) or "servfail".
    #[serde(default = "default_all_down")]
    pub(crate) all_down: String,
    /// TTL of an endpoint's answer while some of its ENIs are down, so that
    /// resolvers ask again soon after a failover.
    pub(crate) degraded_ttl: Option<u32>,
}

impl Default for ServerSection {
    fn default() -> Self {
        toml::from_str("").expect("every [server] field has a default")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SoaSection {
    #[serde(default = "default_soa_ttl")]
    pub(crate) ttl: u32,
    #[serde(default = "default_refresh")]
    pub(crate) refresh: i32,
    #[serde(default = "default_retry")]
    pub(crate) retry: i32,
    #[serde(default = "default_expire")]
    pub(crate) expire: i32,
    /// Negative-caching TTL (RFC 2308): NXDOMAIN/NODATA are cached for
    /// min(SOA TTL, minimum).
    #[serde(default = "default_minimum")]
    pub(crate) minimum: u32,
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
pub(crate) struct VpcSection {
    pub(crate) id: String,
    pub(crate) region: String,
    pub(crate) cidrs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VswitchSection {
    pub(crate) id: String,
    pub(crate) vpc: String,
    pub(crate) zone: String,
    pub(crate) cidr: String,
    pub(crate) ipv6_cidr: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceSection {
    pub(crate) id: String,
    pub(crate) region: String,
    #[serde(default)]
    pub(crate) zone_affinity: bool,
    #[serde(default)]
    pub(crate) dual_stack: bool,
    pub(crate) custom_domain: Option<String>,
    pub(crate) probe: Option<ProbeSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointSection {
    pub(crate) id: String,
    pub(crate) vpc: String,
    pub(crate) service: String,
    /// "interface" (the default) or "reverse".
    #[serde(default = "default_endpoint_type")]
    pub(crate) endpoint_type: String,
    #[serde(default = "default_ip_version")]
    pub(crate) ip_version: String,
    #[serde(default)]
    pub(crate) zone_affinity: bool,
    #[serde(default)]
    pub(crate) custom_domain: bool,
    #[serde(default)]
    pub(crate) cross_region: bool,
    #[serde(default)]
    pub(crate) zones: Vec<EndpointZoneSection>,
    pub(crate) probe: Option<ProbeSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointZoneSection {
    pub(crate) vswitch: String,
    pub(crate) ip: String,
    pub(crate) ipv6: Option<String>,
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
fn default_inbound_port() -> u16 {
    53
}
fn default_lifecycle_ms() -> u64 {
    500
}
fn default_zone_style() -> String {
    "rfc1035".to_string()
}
fn default_endpoint_type() -> String {
    "interface".to_string()
}
fn default_ip_version() -> String {
    "ipv4".to_string()
}
