//! `[server]` and `[admin]`.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use std::str::FromStr;

use hickory_proto::rr::Name;

use super::{Errors, Obj, dns_name};
use crate::config::ConfigPath;
use crate::config::file::{AdminSection, ServerSection};
use crate::model::names;
use crate::model::types::*;

pub(super) fn server(s: &ServerSection, errs: &mut Errors) -> ServerSettings {
    let obj = Obj::section("server");
    let listen = listen_addresses(&s.listen, &obj, errs);
    let suffix = match dns_name(&s.suffix) {
        Ok(n) => n,
        Err(m) => {
            errs.push(&obj, "suffix", m);
            Name::root()
        }
    };
    let (ns_host, hostmaster) = soa_names(&suffix, &obj, errs);
    if s.ttl > 604_800 {
        errs.push(&obj, "ttl", format!("{} is more than a week", s.ttl));
    }
    if s.udp_payload < 512 {
        errs.push(
            &obj,
            "udp_payload",
            format!("{} is below the DNS minimum of 512", s.udp_payload),
        );
    }
    let soa = soa(s, &obj, errs);
    let all_down = all_down(&s.all_down, &obj, errs);
    if let Some(t) = s.degraded_ttl
        && t > s.ttl
    {
        errs.push(
            &obj,
            "degraded_ttl",
            format!(
                "{t} is longer than ttl {}: it exists to shorten caching",
                s.ttl
            ),
        );
    }
    ServerSettings {
        listen,
        suffix,
        ns_host,
        hostmaster,
        ttl: s.ttl,
        ecs: s.ecs,
        ecs_trusted: ecs_trusted(&s.ecs_trusted, &obj, errs),
        udp_payload: s.udp_payload,
        soa,
        all_down,
        degraded_ttl: s.degraded_ttl,
    }
}

/// `[server] ecs_trusted`: resolver addresses or networks, exact (no host
/// bits) and never everyone, since a trusted ECS address chooses which VPC's
/// private data the answer holds.
fn ecs_trusted(entries: &[String], obj: &Obj, errs: &mut Errors) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let field = ConfigPath::from("ecs_trusted").index(i);
        let net = match (IpNet::from_str(e), IpAddr::from_str(e)) {
            (Ok(net), _) => net,
            (_, Ok(ip)) => IpNet::from(ip),
            _ => {
                errs.push(
                    obj,
                    field,
                    format!("'{e}' is not an address or CIDR (e.g. 127.0.0.53 or 10.0.0.0/24)"),
                );
                continue;
            }
        };
        if net.prefix_len() == 0 {
            errs.push(
                obj,
                field,
                format!("'{e}' trusts every address: any client could choose any VPC's view"),
            );
        } else if net.trunc() != net {
            errs.push(
                obj,
                field,
                format!("'{e}' has host bits set: did you mean {}?", net.trunc()),
            );
        } else {
            nets.push(net);
        }
    }
    nets
}

fn listen_addresses(listen: &[String], obj: &Obj, errs: &mut Errors) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for (i, l) in listen.iter().enumerate() {
        match SocketAddr::from_str(l) {
            Ok(a) => out.push(a),
            Err(_) => errs.push(
                obj,
                ConfigPath::from("listen").index(i),
                format!("'{l}' is not an address:port (e.g. 127.0.0.1:5300 or [::1]:5300)"),
            ),
        }
    }
    out
}

/// The SOA names `ns.<suffix>` and `hostmaster.<suffix>`: both must fit
/// (the longer, hostmaster, fails first when the suffix is long); one error
/// either way.
fn soa_names(suffix: &Name, obj: &Obj, errs: &mut Errors) -> (Name, Name) {
    match (names::ns_host(suffix), names::hostmaster(suffix)) {
        (Ok(ns), Ok(hostmaster)) => (ns, hostmaster),
        (Err(m), _) | (Ok(_), Err(m)) => {
            errs.push(obj, "suffix", m);
            (Name::root(), Name::root())
        }
    }
}

fn soa(s: &ServerSection, obj: &Obj, errs: &mut Errors) -> SoaSettings {
    let soa = SoaSettings {
        ttl: s.soa.ttl,
        refresh: s.soa.refresh,
        retry: s.soa.retry,
        expire: s.soa.expire,
        minimum: s.soa.minimum,
    };
    for (field, v) in [
        ("soa.refresh", soa.refresh),
        ("soa.retry", soa.retry),
        ("soa.expire", soa.expire),
    ] {
        if v <= 0 {
            errs.push(obj, field, format!("{v} must be positive"));
        }
    }
    soa
}

fn all_down(text: &str, obj: &Obj, errs: &mut Errors) -> AllDownPolicy {
    match text {
        "all" => AllDownPolicy::All,
        "none" => AllDownPolicy::None,
        "servfail" => AllDownPolicy::ServFail,
        other => {
            errs.push(
                obj,
                "all_down",
                format!("'{other}' is not one of \"all\", \"none\", \"servfail\""),
            );
            AllDownPolicy::All
        }
    }
}

pub(super) fn admin(a: &AdminSection, errs: &mut Errors) -> Option<Admin> {
    let obj = Obj::section("admin");
    let token = admin_token(a, &obj, errs);
    let listen = match SocketAddr::from_str(&a.listen) {
        Ok(addr) => addr,
        Err(_) => {
            errs.push(
                &obj,
                "listen",
                format!(
                    "'{}' is not an address:port (e.g. 127.0.0.1:8053)",
                    a.listen
                ),
            );
            return None;
        }
    };
    if let Err(m) = admin_reachable(listen, token.is_some()) {
        errs.push(&obj, "listen", m);
    }
    Some(Admin { listen, token })
}

/// The admin API can change what is answered: off loopback, only with a
/// token.
pub(crate) fn admin_reachable(listen: SocketAddr, has_token: bool) -> Result<(), String> {
    if listen.ip().is_loopback() || has_token {
        return Ok(());
    }
    Err(format!(
        "{listen} is reachable from other hosts: set [admin] token (or token_env) so that only \
         holders of the token can force ENIs down, or listen on a loopback address"
    ))
}

fn admin_token(a: &AdminSection, obj: &Obj, errs: &mut Errors) -> Option<std::sync::Arc<str>> {
    let token = match (&a.token, &a.token_env) {
        (Some(_), Some(_)) => {
            errs.push(obj, "token_env", "set token or token_env, not both");
            return None;
        }
        (Some(t), None) => t.clone(),
        (None, Some(var)) => match std::env::var(var) {
            Ok(t) => t,
            Err(_) => {
                errs.push(
                    obj,
                    "token_env",
                    format!("the environment variable {var} is not set (or not UTF-8)"),
                );
                return None;
            }
        },
        (None, None) => return None,
    };
    if token.len() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let field = if a.token.is_some() {
            "token"
        } else {
            "token_env"
        };
        errs.push(
            obj,
            field,
            "a token needs at least 16 characters, none of them spaces or control characters",
        );
        return None;
    }
    Some(token.into())
}
