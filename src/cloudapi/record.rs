//! What the store keeps of an API-created endpoint, and how it joins the
//! config's sections so that it goes through the same validation.

use serde::{Deserialize, Serialize};

use crate::config::file::{EndpointSection, EndpointZoneSection, InboundSection};

/// The store's kind for endpoints.
pub(crate) const ENDPOINT: &str = "endpoint";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum EndpointStatus {
    Creating,
    Active,
}

impl EndpointStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Creating => "Creating",
            EndpointStatus::Active => "Active",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ZoneStatus {
    Connecting,
    Connected,
}

impl ZoneStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ZoneStatus::Connecting => "Connecting",
            ZoneStatus::Connected => "Connected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EndpointRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc: String,
    pub(crate) service: String,
    /// The config's words: "ipv4" or "dual-stack".
    pub(crate) ip_version: String,
    pub(crate) zone_affinity: bool,
    pub(crate) cross_region: bool,
    pub(crate) security_groups: Vec<String>,
    pub(crate) zones: Vec<ZoneRecord>,
    pub(crate) status: EndpointStatus,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_ms: u64,
    pub(crate) client_token: Option<String>,
    /// Kept and shown, checked to be a JSON object, not enforced: a DNS lab
    /// carries no traffic to enforce it on.
    pub(crate) policy_document: Option<String>,
    /// `EndpointType=Reverse` (records from before the field: Interface).
    #[serde(default)]
    pub(crate) reverse: bool,
    /// In the order they were set; keys are unique.
    #[serde(default)]
    pub(crate) tags: Vec<Tag>,
    /// It answers its service's custom domain in its VPC: set at creation
    /// when the service has one and no endpoint of the VPC answers it yet
    /// (the first endpoint wins, as in a config file).
    #[serde(default)]
    pub(crate) custom_domain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tag {
    pub(crate) key: String,
    pub(crate) value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ZoneRecord {
    pub(crate) zone: String,
    pub(crate) vswitch: String,
    pub(crate) ip: String,
    pub(crate) ipv6: Option<String>,
    pub(crate) status: ZoneStatus,
    /// When it was added, ms since the Unix epoch.
    pub(crate) since_ms: u64,
}

/// Which of the records' states a config is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Everything the API accepted, Creating and Connecting included: what
    /// a change is validated against (addresses, zones and names are
    /// claimed from the moment of the call).
    Desired,
    /// What DNS answers: Active endpoints with their Connected zones.
    Published,
}

impl EndpointRecord {
    /// The addresses of its ENIs (those that parse: validation names the
    /// others).
    pub(crate) fn addresses(&self) -> impl Iterator<Item = std::net::IpAddr> + '_ {
        self.zones
            .iter()
            .flat_map(|z| std::iter::once(z.ip.as_str()).chain(z.ipv6.as_deref()))
            .filter_map(|a| a.parse().ok())
    }

    /// Something waits for its lifecycle delay.
    pub(crate) fn pending(&self) -> bool {
        self.status == EndpointStatus::Creating
            || self
                .zones
                .iter()
                .any(|z| z.status == ZoneStatus::Connecting)
    }

    /// The record as a config section, in `view`; `None` when that view
    /// has nothing of it.
    pub(crate) fn section(&self, view: View) -> Option<EndpointSection> {
        let zones: Vec<EndpointZoneSection> = self
            .zones
            .iter()
            .filter(|z| view == View::Desired || z.status == ZoneStatus::Connected)
            .map(|z| EndpointZoneSection {
                vswitch: z.vswitch.clone(),
                ip: z.ip.clone(),
                ipv6: z.ipv6.clone(),
            })
            .collect();
        if view == View::Published && (self.status != EndpointStatus::Active || zones.is_empty()) {
            return None;
        }
        Some(EndpointSection {
            id: self.id.clone(),
            vpc: self.vpc.clone(),
            service: self.service.clone(),
            endpoint_type: if self.reverse { "reverse" } else { "interface" }.to_string(),
            ip_version: self.ip_version.clone(),
            zone_affinity: self.zone_affinity,
            custom_domain: self.custom_domain,
            cross_region: self.cross_region,
            zones,
            probe: None,
        })
    }
}

/// The store's kind for PrivateZone zones.
pub(crate) const PVTZ_ZONE: &str = "pvtz-zone";

/// A private zone created through the PrivateZone API, with its records
/// (kept as one object: a lab zone is small, and a zone and its records
/// change together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PvtzZone {
    pub(crate) id: String,
    /// The zone's name, lowercase, without the final dot.
    pub(crate) name: String,
    pub(crate) remark: String,
    pub(crate) proxy_pattern: String,
    /// (VPC id, region id) pairs, in BindZoneVpc order.
    pub(crate) vpcs: Vec<(String, String)>,
    pub(crate) records: Vec<PvtzRecord>,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PvtzRecord {
    pub(crate) id: u64,
    /// The host record: `@` for the apex, else labels below it.
    pub(crate) rr: String,
    /// A, AAAA, CNAME, TXT, MX, PTR or SRV.
    pub(crate) rtype: String,
    pub(crate) value: String,
    pub(crate) ttl: u32,
    /// MX preference.
    pub(crate) priority: Option<u16>,
    pub(crate) enabled: bool,
    pub(crate) remark: String,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
}

/// The store's kind for PrivateZone resolver endpoints.
pub(crate) const RESOLVER_ENDPOINT: &str = "resolver-endpoint";

/// An inbound resolver endpoint created through the PrivateZone API: each
/// of its addresses is an inbound listener for its VPC, on `[api]
/// inbound_port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResolverEndpointRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) vpc: String,
    pub(crate) region: String,
    pub(crate) security_group: String,
    pub(crate) ip_configs: Vec<IpConfig>,
    /// The port its listeners use (`[api] inbound_port` at creation).
    pub(crate) port: u16,
    pub(crate) created_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IpConfig {
    pub(crate) zone: String,
    pub(crate) vswitch: String,
    pub(crate) cidr: String,
    pub(crate) ip: String,
}

impl ResolverEndpointRecord {
    /// The addresses of its listeners (those that parse).
    pub(crate) fn addresses(&self) -> impl Iterator<Item = std::net::IpAddr> + '_ {
        self.ip_configs.iter().filter_map(|c| c.ip.parse().ok())
    }

    /// Its listeners as the config's `[[inbound]]` sections.
    pub(crate) fn sections(&self) -> impl Iterator<Item = InboundSection> + '_ {
        self.ip_configs.iter().map(|c| InboundSection {
            listen: listen_addr(&c.ip, self.port),
            vpc: self.vpc.clone(),
        })
    }
}

/// `ip:port`, IPv6 addresses in brackets.
pub(crate) fn listen_addr(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}
