//! Every rule a config (and, later, an API call) must pass. `build` turns the
//! file's sections into a `Model` or into the full list of what is wrong, each
//! error naming the object, the field, and where in the file it is written.
//! One file per kind of object: `network` (VPCs, vSwitches), `service`,
//! `endpoint`, `names` (generated names), `cloud_api` (`[api]`, access keys,
//! `[state]`), `transfer` (`[[tsig_key]]`, `[[secondary]]`), `private_dns` (private zones,
//! inbound listeners, forwarding), `server` (`[server]`, `[admin]`).

mod claims;
mod cloud_api;
mod endpoint;
mod names;
mod network;
mod private_dns;
mod server;
mod service;
mod transfer;

pub(crate) use claims::Claims;
pub(crate) use server::admin_reachable;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use hickory_proto::rr::Name;

use super::types::*;
use crate::config::ConfigPath;
use crate::config::file::ConfigFile;
use crate::zonefile::{PrivateZone, ZoneFileError, ZoneStyle};

/// One broken rule: `object` says which (e.g. `endpoint 'ep-lab1'
/// (endpoint[0])`), `field` where in it (e.g. `zones[1].ip`), and `at` where
/// the config file writes the value at fault (its line, for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidationError {
    pub(crate) object: String,
    pub(crate) field: ConfigPath,
    pub(crate) message: String,
    /// The object's path and `field`, except for an inherited probe
    /// setting: the level that set it.
    pub(crate) at: ConfigPath,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.field, self.message)
    }
}

/// An object of the config: how errors name it, and where the file has it.
#[derive(Debug, Clone)]
struct Obj {
    name: String,
    path: ConfigPath,
}

impl Obj {
    /// A table of its own: `[server]`.
    fn section(key: &'static str) -> Obj {
        Obj {
            name: format!("[{key}]"),
            path: ConfigPath::from(key),
        }
    }

    /// Element `index` of an array of tables, named by its id:
    /// `endpoint 'ep-lab1' (endpoint[0])`.
    fn item(key: &'static str, index: usize, id: &str) -> Obj {
        Obj {
            name: format!("{key} '{id}' ({key}[{index}])"),
            path: ConfigPath::from(key).index(index),
        }
    }
}

#[derive(Default)]
struct Errors(Vec<ValidationError>);

impl Errors {
    fn push(&mut self, obj: &Obj, field: impl Into<ConfigPath>, message: impl Into<String>) {
        let field = field.into();
        let at = obj.path.join(&field);
        self.push_at(obj, field, at, message);
    }

    /// An error about `field` of `obj` whose value the file writes at `at`.
    fn push_at(
        &mut self,
        obj: &Obj,
        field: ConfigPath,
        at: ConfigPath,
        message: impl Into<String>,
    ) {
        self.0.push(ValidationError {
            object: obj.name.clone(),
            field,
            message: message.into(),
            at,
        });
    }
}

/// Loads a zone file named in the config (`origin`, the `file` field as
/// written, read in the zone's style): the config's source decides where
/// relative paths lead. Shared
/// (`Arc`), so that a loader may hand back a zone already loaded (the
/// control API's calls reuse the serving model's zone files).
pub(crate) type ZoneLoader<'a> =
    dyn Fn(&Name, &str, &ZoneStyle) -> Result<(PathBuf, Arc<PrivateZone>), ZoneFileError> + 'a;

/// Validates `cfg`; zone files are read through `load_zone`. `previous` is
/// the model being replaced (on reload), for the rules that depend on
/// history: an endpoint keeps zone affinity it already had even after its
/// service stopped supporting it.
pub(crate) fn build(
    cfg: &ConfigFile,
    previous: Option<&Model>,
    load_zone: &ZoneLoader<'_>,
) -> Result<Model, Vec<ValidationError>> {
    let mut errs = Errors::default();
    let server = server::server(&cfg.server, &mut errs);
    let mut vpcs = network::vpcs(&cfg.vpc, &mut errs);
    if cfg.vpc.is_empty() {
        // An empty or truncated file would otherwise load and, on reload,
        // replace every answer with nothing.
        let whole = Obj {
            name: "config".to_string(),
            path: ConfigPath::default(),
        };
        errs.push(
            &whole,
            "vpc",
            "the config declares no [[vpc]]: a lab config needs at least one \
             (is the file empty or truncated?)",
        );
    }
    let vswitches = network::vswitches(&cfg.vswitch, &mut vpcs, &mut errs);
    let services = service::services(&cfg.service, &mut errs);
    let refs = endpoint::Refs {
        cfg,
        server: &server,
        vpcs: &vpcs,
        vswitches: &vswitches,
        services: &services,
        previous,
    };
    let (endpoints, mut claims) = endpoint::endpoints(&refs, &mut errs);
    endpoint::custom_domains(&endpoints, &mut claims, &mut errs);
    let inbound = private_dns::inbound(&cfg.inbound, &vpcs, &server, &mut errs);
    let forward = cfg
        .forward
        .as_ref()
        .map(|f| private_dns::forward(f, &mut errs));
    let private_zones =
        private_dns::private_zones(&cfg.private_zone, &vpcs, &server, load_zone, &mut errs);
    let admin = cfg.admin.as_ref().and_then(|a| server::admin(a, &mut errs));
    let cloud_api = cloud_api::cloud_api(cfg, &mut errs);
    let transfer = transfer::transfer(cfg, &mut errs);
    if !errs.0.is_empty() {
        return Err(errs.0);
    }
    Ok(Model::validated(ModelParts {
        server,
        vpcs,
        vswitches,
        services,
        endpoints: endpoints.into_iter().map(Arc::new).collect(),
        inbound,
        forward,
        private_zones,
        admin,
        cloud_api,
        transfer,
        claims,
    }))
}

/// Validates `current` with endpoint `id` replaced by `new` (or removed),
/// by the rules `build` runs, checking only what the change touches: the
/// changed endpoint against what the others claim (`Claims`), as a full
/// build of the same change checks it, placed after every other
/// endpoint. `cfg` is the config `current` was built from (its probe
/// levels), `previous` as for `build`, and `index_of` says where a full
/// build would place another endpoint, for the errors that name it.
pub(crate) fn change_endpoint(
    current: &Model,
    cfg: &ConfigFile,
    previous: Option<&Model>,
    id: &str,
    new: Option<&crate::config::file::EndpointSection>,
    index_of: &dyn Fn(&str) -> usize,
) -> Result<Model, Vec<ValidationError>> {
    let mut parts = (**current).clone();
    if let Some(pos) = parts.endpoints.iter().position(|e| e.id == id) {
        let old = parts.endpoints.remove(pos);
        parts.claims.release(&old);
    }
    let Some(section) = new else {
        return Ok(Model::changed(parts, current, id));
    };
    let i = parts.endpoints.len();
    let mut errs = Errors::default();
    let refs = endpoint::Refs {
        cfg,
        server: &parts.server,
        vpcs: &parts.vpcs,
        vswitches: &parts.vswitches,
        services: &parts.services,
        previous,
    };
    // The claims hold the others' places in the model, which need not be
    // a full build's: that one is asked for (only when an error names it).
    let name_of = |o: &claims::Owner| {
        if *o.id == *id {
            return o.name();
        }
        claims::Owner {
            id: o.id.clone(),
            index: index_of(&o.id) as u32,
        }
        .name()
    };
    let mut check = endpoint::EndpointCheck {
        refs: &refs,
        claims: parts.claims.clone(),
        name_of: &name_of,
    };
    let ep = check.endpoint(i, section, &mut errs);
    let mut claims = check.claims;
    endpoint::custom_domain(i, &ep, &mut claims, &mut errs);
    if !errs.0.is_empty() {
        return Err(errs.0);
    }
    parts.claims = claims;
    parts.endpoints.push_back(Arc::new(ep));
    Ok(Model::changed(parts, current, id))
}

/// The index and value of the element of `items` whose id is `id`.
fn find<'a, T>(items: &'a [T], id: &str, id_of: impl Fn(&T) -> &str) -> Option<(u32, &'a T)> {
    items
        .iter()
        .enumerate()
        .find(|(_, t)| id_of(t) == id)
        .map(|(i, t)| (i as u32, t))
}

fn vpc<'a>(vpcs: &'a [Vpc], id: &str) -> Option<(u32, &'a Vpc)> {
    find(vpcs, id, |v| &v.id)
}

fn id_rules(id: &str, seen: &mut HashSet<String>, obj: &Obj, errs: &mut Errors) {
    id_checks(id, seen.insert(id.to_string()), obj, errs);
}

/// `new`: no object of the kind before had this id.
fn id_checks(id: &str, new: bool, obj: &Obj, errs: &mut Errors) {
    if let Err(m) = label(id) {
        errs.push(obj, "id", m);
    }
    if !new {
        errs.push(obj, "id", format!("duplicate id '{id}'"));
    }
}

/// Ids, zones and regions become DNS labels, so they must be hostname labels.
fn label(s: &str) -> Result<(), String> {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if s.is_empty() || s.len() > 63 || !ok_chars || s.starts_with('-') || s.ends_with('-') {
        return Err(format!(
            "'{s}' must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'"
        ));
    }
    Ok(())
}

fn dns_name(s: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(s).map_err(|e| format!("'{s}' is not a domain name: {e}"))?;
    if n.is_root() {
        return Err("the root cannot be used here".to_string());
    }
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}
