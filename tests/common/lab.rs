//! One builder for the configs the tests serve: the objects of a lab (VPCs,
//! vSwitches, services, endpoints, private zones, inbound listeners) added
//! one by one, each with its required fields as arguments and anything else
//! as a TOML fragment, so that a test's config reads at the call site:
//!
//! ```ignore
//! LabConfig::new()
//!     .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
//!     .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
//!     .service("epsrv-oss", "cn-hangzhou")
//!     .with("zone_affinity = true")
//!     .endpoint("ep-lab1", "vpc-lab", "epsrv-oss", &[eni("vsw-h", "127.0.1.10")])
//! ```
//!
//! Variants of a config edit it by object id (`edit`, `eni`) instead of
//! replacing text.

use std::net::SocketAddr;

use toml::{Table, Value};

/// The TOML arrays of tables a lab is made of.
const OBJECTS: [&str; 7] = [
    "access_key",
    "vpc",
    "vswitch",
    "service",
    "endpoint",
    "private_zone",
    "inbound",
];

#[derive(Clone, Debug, Default)]
pub struct LabConfig {
    doc: Table,
    /// The object `with` changes: (array, index).
    last: Option<(&'static str, usize)>,
    /// Zone files to write beside the config: (file name, text).
    files: Vec<(String, String)>,
}

/// An ENI of an endpoint: its vSwitch and address(es).
pub struct Eni(Table);

pub fn eni(vswitch: &str, ip: &str) -> Eni {
    let mut t = Table::new();
    t.insert("vswitch".into(), vswitch.into());
    t.insert("ip".into(), ip.into());
    Eni(t)
}

impl Eni {
    pub fn ipv6(mut self, ip: &str) -> Eni {
        self.0.insert("ipv6".into(), ip.into());
        self
    }
}

fn strings(v: &[&str]) -> Value {
    Value::Array(v.iter().map(|s| Value::from(*s)).collect())
}

/// Parses a TOML fragment ("key = value" lines), naming it when it is not
/// TOML.
fn fragment(text: &str) -> Table {
    text.parse()
        .unwrap_or_else(|e| panic!("not a TOML fragment: {text:?}: {e}"))
}

/// Sets every key of `from` in `into`, merging tables key by key.
fn merge(into: &mut Table, from: Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Table(old)), Value::Table(new)) => merge(old, new),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

impl LabConfig {
    /// An empty config: every `[server]` default.
    pub fn new() -> LabConfig {
        LabConfig::default()
    }

    /// Sets `[server]` keys, e.g. `server("ttl = 60")`.
    pub fn server(self, keys: &str) -> LabConfig {
        self.section("server", keys)
    }

    /// `[server.soa]`: its TTL and minimum (the negative TTL is the smaller).
    pub fn soa(self, ttl: u32, minimum: u32) -> LabConfig {
        self.server(&format!("soa = {{ ttl = {ttl}, minimum = {minimum} }}"))
    }

    /// Sets `[probe]` keys (the defaults for every endpoint).
    pub fn probe(self, keys: &str) -> LabConfig {
        self.section("probe", keys)
    }

    /// `[forward]` to `upstreams`, each try bounded by `timeout_ms`.
    pub fn forward(self, upstreams: &[SocketAddr], timeout_ms: u64) -> LabConfig {
        let ups: Vec<String> = upstreams.iter().map(|u| format!("\"{u}\"")).collect();
        self.section(
            "forward",
            &format!(
                "upstreams = [{}]\ntimeout_ms = {timeout_ms}",
                ups.join(", ")
            ),
        )
    }

    /// Sets `[api]` keys (the control API), e.g. `api("listen = \"127.0.0.1:0\"")`.
    pub fn api(self, keys: &str) -> LabConfig {
        self.section("api", keys)
    }

    /// `[state] dir`: where the control API keeps its state.
    pub fn state(self, dir: &str) -> LabConfig {
        self.section("state", &format!("dir = {}", Value::from(dir)))
    }

    /// `[state] etcd`: the control API's state in etcd
    /// (`etcd://HOST:PORT[,…]/PREFIX`), shared by replicas.
    pub fn state_etcd(self, url: &str) -> LabConfig {
        self.section("state", &format!("etcd = {}", Value::from(url)))
    }

    /// An `[[access_key]]` the control API accepts.
    pub fn access_key(self, id: &str, secret: &str) -> LabConfig {
        self.add("access_key", [("id", id.into()), ("secret", secret.into())])
    }

    fn section(mut self, name: &str, keys: &str) -> LabConfig {
        let table = self
            .doc
            .entry(name)
            .or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(table) = table else {
            unreachable!("{name} is always a table")
        };
        merge(table, fragment(keys));
        self
    }

    pub fn vpc(self, id: &str, region: &str, cidrs: &[&str]) -> LabConfig {
        self.add(
            "vpc",
            [
                ("id", id.into()),
                ("region", region.into()),
                ("cidrs", strings(cidrs)),
            ],
        )
    }

    pub fn vswitch(self, id: &str, vpc: &str, zone: &str, cidr: &str) -> LabConfig {
        self.add(
            "vswitch",
            [
                ("id", id.into()),
                ("vpc", vpc.into()),
                ("zone", zone.into()),
                ("cidr", cidr.into()),
            ],
        )
    }

    pub fn service(self, id: &str, region: &str) -> LabConfig {
        self.add("service", [("id", id.into()), ("region", region.into())])
    }

    pub fn endpoint(self, id: &str, vpc: &str, service: &str, zones: &[Eni]) -> LabConfig {
        let zones = zones.iter().map(|e| Value::Table(e.0.clone())).collect();
        self.add(
            "endpoint",
            [
                ("id", id.into()),
                ("vpc", vpc.into()),
                ("service", service.into()),
                ("zones", Value::Array(zones)),
            ],
        )
    }

    /// A private zone for `vpcs`, its zone file `file` (written beside the
    /// config by `Server`) holding `text`.
    pub fn private_zone(mut self, name: &str, vpcs: &[&str], file: &str, text: &str) -> LabConfig {
        self.files.push((file.into(), text.into()));
        self.add(
            "private_zone",
            [
                ("name", name.into()),
                ("file", file.into()),
                ("vpcs", strings(vpcs)),
            ],
        )
    }

    /// A `[[tsig_key]]` (secret in base64).
    pub fn tsig_key(self, name: &str, algorithm: &str, secret: &str) -> LabConfig {
        self.add(
            "tsig_key",
            [
                ("name", name.into()),
                ("algorithm", algorithm.into()),
                ("secret", secret.into()),
            ],
        )
    }

    /// A `[[secondary]]` at `address`, signing with `tsig_key`.
    pub fn secondary(self, address: &str, tsig_key: &str) -> LabConfig {
        self.add(
            "secondary",
            [("address", address.into()), ("tsig_key", tsig_key.into())],
        )
    }

    /// An inbound listener for `vpc` on `listen` (port 0: any port; the
    /// server's ready file says which).
    pub fn inbound(self, listen: &str, vpc: &str) -> LabConfig {
        self.add("inbound", [("listen", listen.into()), ("vpc", vpc.into())])
    }

    fn add<const N: usize>(mut self, array: &'static str, fields: [(&str, Value); N]) -> LabConfig {
        let table: Table = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let list = self
            .doc
            .entry(array)
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = list else {
            unreachable!("{array} is always an array")
        };
        list.push(Value::Table(table));
        self.last = Some((array, list.len() - 1));
        self
    }

    /// Sets keys of the object added last, e.g. `.with("zone_affinity = true")`.
    pub fn with(mut self, keys: &str) -> LabConfig {
        let (array, i) = self.last.expect("with: no object added yet");
        merge(self.object(array, i), fragment(keys));
        self
    }

    /// Sets keys of the `array` object whose id (or, for private zones, file)
    /// is `id`, e.g. `.edit("endpoint", "ep-lab1", "zone_affinity = false")`.
    pub fn edit(mut self, array: &str, id: &str, keys: &str) -> LabConfig {
        let i = self.find(array, id);
        merge(self.object(array, i), fragment(keys));
        self
    }

    /// Removes keys from the `array` object `id`.
    pub fn unset(mut self, array: &str, id: &str, keys: &[&str]) -> LabConfig {
        let i = self.find(array, id);
        let object = self.object(array, i);
        for k in keys {
            object.remove(*k);
        }
        self
    }

    /// Gives endpoint `endpoint`'s ENI in `vswitch` the IPv4 address `ip`.
    pub fn eni(mut self, endpoint: &str, vswitch: &str, ip: &str) -> LabConfig {
        let i = self.find("endpoint", endpoint);
        let Some(Value::Array(zones)) = self.object("endpoint", i).get_mut("zones") else {
            panic!("endpoint {endpoint} has no zones")
        };
        let zone = zones
            .iter_mut()
            .filter_map(Value::as_table_mut)
            .find(|z| z.get("vswitch").and_then(Value::as_str) == Some(vswitch))
            .unwrap_or_else(|| panic!("endpoint {endpoint} has no ENI in {vswitch}"));
        zone.insert("ip".into(), ip.into());
        self
    }

    fn find(&self, array: &str, id: &str) -> usize {
        let list = self.doc.get(array).and_then(Value::as_array);
        list.and_then(|l| {
            l.iter().position(|o| {
                ["id", "file"]
                    .iter()
                    .any(|k| o.get(k).and_then(Value::as_str) == Some(id))
            })
        })
        .unwrap_or_else(|| panic!("no {array} with id {id} in the config"))
    }

    fn object(&mut self, array: &str, i: usize) -> &mut Table {
        self.doc[array][i]
            .as_table_mut()
            .expect("objects are tables")
    }

    /// The config file's text.
    pub fn toml(&self) -> String {
        // Sections first, then the objects in a fixed order, so that the
        // text reads like a hand-written config when a test prints it.
        let mut doc = Table::new();
        for (k, v) in &self.doc {
            if !OBJECTS.contains(&k.as_str()) {
                doc.insert(k.clone(), v.clone());
            }
        }
        let mut text = toml::to_string(&doc).expect("a config serializes");
        for array in OBJECTS {
            if let Some(v) = self.doc.get(array) {
                let mut one = Table::new();
                one.insert(array.into(), v.clone());
                text.push('\n');
                text.push_str(&toml::to_string(&one).expect("a config serializes"));
            }
        }
        text
    }

    /// Zone files to write beside the config: (file name, text).
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }
}

/// The lab most tests share, like zones/lab.toml with IPv6 ENIs in two
/// zones: vpc-lab (127.0.0.0/16) with vSwitches in zones h (127.0.1.0/24,
/// fd00:1::/64) and i (127.0.2.0/24, fd00:2::/64); epsrv-oss (zone affinity,
/// dual stack) with ep-lab1 (IPv4) and ep-lab6 (dual stack); epsrv-rds in
/// another region with the cross-region ep-xr1. Its addresses are answer
/// data only: nothing probes them (no `[probe]`).
pub fn base_lab() -> LabConfig {
    LabConfig::new()
        .server(r#"suffix = "privatelink.aliyuncs.com""#)
        .server("ttl = 60")
        .soa(300, 30)
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
        .with(r#"ipv6_cidr = "fd00:1::/64""#)
        .vswitch("vsw-i", "vpc-lab", "cn-hangzhou-i", "127.0.2.0/24")
        .with(r#"ipv6_cidr = "fd00:2::/64""#)
        .service("epsrv-oss", "cn-hangzhou")
        .with("zone_affinity = true\ndual_stack = true")
        .service("epsrv-rds", "cn-shanghai")
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", "127.0.1.10"), eni("vsw-i", "127.0.2.10")],
        )
        .endpoint(
            "ep-lab6",
            "vpc-lab",
            "epsrv-oss",
            &[
                eni("vsw-h", "127.0.1.11").ipv6("fd00:1::11"),
                eni("vsw-i", "127.0.2.11").ipv6("fd00:2::11"),
            ],
        )
        .with(r#"ip_version = "dual-stack""#)
        .endpoint(
            "ep-xr1",
            "vpc-lab",
            "epsrv-rds",
            &[eni("vsw-h", "127.0.1.20")],
        )
        .with("cross_region = true")
}

/// The ENIs of `probed_lab`'s ep-lab1, in zones h, i and j.
pub const PROBED_ENIS: [&str; 3] = ["127.0.1.10", "127.0.2.10", "127.0.3.10"];

/// ep-lab1 with zone affinity and an ENI in each of zones h, i and j
/// (`PROBED_ENIS`), probed by TCP on `port` with fast settings (50/40 ms,
/// fall 2, rise 2).
pub fn probed_lab(port: u16) -> LabConfig {
    LabConfig::new()
        .server("ttl = 60")
        .soa(300, 30)
        .probe(&format!(
            r#"kind = "tcp"
               port = {port}
               interval_ms = 50
               timeout_ms = 40
               fall = 2
               rise = 2"#
        ))
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
        .vswitch("vsw-i", "vpc-lab", "cn-hangzhou-i", "127.0.2.0/24")
        .vswitch("vsw-j", "vpc-lab", "cn-hangzhou-j", "127.0.3.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .with("zone_affinity = true")
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[
                eni("vsw-h", PROBED_ENIS[0]),
                eni("vsw-i", PROBED_ENIS[1]),
                eni("vsw-j", PROBED_ENIS[2]),
            ],
        )
        .with("zone_affinity = true")
}
