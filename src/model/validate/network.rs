//! VPCs and their vSwitches.

use std::collections::HashSet;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{Errors, Obj, id_rules, label, vpc};
use crate::config::ConfigPath;
use crate::config::file::{VpcSection, VswitchSection};
use crate::model::types::*;

pub(super) fn vpcs(sections: &[VpcSection], errs: &mut Errors) -> Vec<Vpc> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, v) in sections.iter().enumerate() {
        let obj = Obj::item("vpc", i, &v.id);
        id_rules(&v.id, &mut seen, &obj, errs);
        if let Err(m) = label(&v.region) {
            errs.push(&obj, "region", m);
        }
        let mut cidrs = Vec::new();
        for (j, c) in v.cidrs.iter().enumerate() {
            match IpNet::from_str(c) {
                Ok(n) => {
                    if let Err(m) = vpc_cidr_size(n) {
                        errs.push(&obj, ConfigPath::from("cidrs").index(j), m);
                    }
                    cidrs.push(n.trunc())
                }
                Err(_) => errs.push(
                    &obj,
                    ConfigPath::from("cidrs").index(j),
                    format!("'{c}' is not a CIDR"),
                ),
            }
        }
        if v.cidrs.is_empty() {
            errs.push(&obj, "cidrs", "a VPC needs at least one CIDR");
        }
        out.push(Vpc {
            id: v.id.clone(),
            region: v.region.clone(),
            cidrs,
            zones: Vec::new(),
        });
    }
    out
}

/// A VPC's CIDR decides who is a client of the VPC (its private names, and
/// forwarding): one that holds (nearly) every address would make epdns an
/// open resolver. IPv4 CIDRs are /8 to /28 as in the cloud; IPv6 ones at
/// least /16 (the cloud gives each VPC a /56; labs use ULA prefixes).
fn vpc_cidr_size(net: IpNet) -> Result<(), String> {
    let (min, max) = match net {
        IpNet::V4(_) => (8, 28),
        IpNet::V6(_) => (16, 128),
    };
    if net.prefix_len() < min {
        return Err(format!(
            "{net} is wider than /{min}: every client in it is a client of this VPC, \
             sees its private names and may use forwarding (an open resolver)"
        ));
    }
    if net.prefix_len() > max {
        return Err(format!(
            "{net} is narrower than /{max}, the smallest VPC CIDR"
        ));
    }
    Ok(())
}

/// The vSwitches; each one's zone is added to its VPC's `zones`.
pub(super) fn vswitches(
    sections: &[VswitchSection],
    vpcs: &mut [Vpc],
    errs: &mut Errors,
) -> Vec<VSwitch> {
    let mut seen = HashSet::new();
    let mut nets = VswitchNets::default();
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = Obj::item("vswitch", i, &s.id);
        id_rules(&s.id, &mut seen, &obj, errs);
        if let Err(m) = label(&s.zone) {
            errs.push(&obj, "zone", m);
        }
        let vpc = vpc(vpcs, &s.vpc);
        if vpc.is_none() {
            errs.push(&obj, "vpc", format!("no VPC with id '{}'", s.vpc));
        }
        let vpc_net = vpc.map(|(_, v)| v);
        let cidr = ipv4_cidr(s, vpc_net, &obj, errs);
        let ipv6_cidr = ipv6_cidr(s, vpc_net, &obj, errs);
        nets.add(s, cidr.map(IpNet::V4), "cidr", &obj, errs);
        nets.add(s, ipv6_cidr.map(IpNet::V6), "ipv6_cidr", &obj, errs);
        let (vpc_index, zone_index) = match vpc {
            Some((index, _)) => (index, zone_index(&mut vpcs[index as usize], &s.zone)),
            None => (0, 0),
        };
        out.push(VSwitch {
            id: s.id.clone(),
            vpc: s.vpc.clone(),
            vpc_index,
            zone: s.zone.clone(),
            zone_index,
            cidr: cidr.unwrap_or_default(),
            ipv6_cidr,
        });
    }
    out
}

/// The index of `zone` in the VPC's zones, added when new.
fn zone_index(vpc: &mut Vpc, zone: &str) -> u32 {
    let index = match vpc.zones.iter().position(|z| z == zone) {
        Some(i) => i,
        None => {
            vpc.zones.push(zone.to_string());
            vpc.zones.len() - 1
        }
    };
    index as u32
}

fn ipv4_cidr(
    s: &VswitchSection,
    vpc: Option<&Vpc>,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<Ipv4Net> {
    let Ok(n) = Ipv4Net::from_str(&s.cidr) else {
        errs.push(obj, "cidr", format!("'{}' is not an IPv4 CIDR", s.cidr));
        return None;
    };
    let n = n.trunc();
    if let Some(vpc) = vpc
        && !vpc.cidrs.iter().any(|c| c.contains(&IpNet::V4(n)))
    {
        errs.push(
            obj,
            "cidr",
            format!("{n} is outside the CIDRs of VPC '{}'", vpc.id),
        );
    }
    Some(n)
}

fn ipv6_cidr(
    s: &VswitchSection,
    vpc: Option<&Vpc>,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<Ipv6Net> {
    let text = s.ipv6_cidr.as_ref()?;
    let Ok(n) = Ipv6Net::from_str(text) else {
        errs.push(obj, "ipv6_cidr", format!("'{text}' is not an IPv6 CIDR"));
        return None;
    };
    let n = n.trunc();
    // A VPC that lists no IPv6 CIDR lets its vSwitches pick any (the cloud
    // assigns the VPC's /56 itself).
    if let Some(vpc) = vpc {
        let v6: Vec<_> = vpc.cidrs.iter().filter(|c| c.addr().is_ipv6()).collect();
        if !v6.is_empty() && !v6.iter().any(|c| c.contains(&IpNet::V6(n))) {
            errs.push(
                obj,
                "ipv6_cidr",
                format!("{n} is outside the IPv6 CIDRs of VPC '{}'", vpc.id),
            );
        }
    }
    Some(n)
}

/// The client's zone is the zone of the vSwitch holding its address:
/// vSwitch CIDRs of one VPC must not overlap (as in the cloud).
#[derive(Default)]
struct VswitchNets {
    /// (VPC, CIDR, vSwitch) of every valid vSwitch CIDR so far.
    seen: Vec<(String, IpNet, String)>,
}

impl VswitchNets {
    fn add(
        &mut self,
        s: &VswitchSection,
        net: Option<IpNet>,
        field: &'static str,
        obj: &Obj,
        errs: &mut Errors,
    ) {
        let Some(net) = net else { return };
        let overlap = self.seen.iter().find(|(vpc, p, _)| {
            *vpc == s.vpc && (p.contains(&net.network()) || net.contains(&p.network()))
        });
        if let Some((_, p, other)) = overlap {
            errs.push(
                obj,
                field,
                format!("{net} overlaps {p} of vSwitch '{other}' in VPC '{}'", s.vpc),
            );
        }
        self.seen.push((s.vpc.clone(), net, s.id.clone()));
    }
}
