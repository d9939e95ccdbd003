//! One endpoint in the tables: everything it adds (its answers, zone
//! domains, health slots, reverse names, custom domain) and how to take it
//! out again. A full build adds every endpoint with this code; an update
//! removes the changed ones and adds them anew, so both give the same
//! answers.

use std::net::IpAddr;
use std::sync::Arc;

use super::tables::{
    CustomDomain, EndpointAnswers, FamilyAnswers, GeneratedNode, PtrAnswer, PtrTarget, Slot,
    Tables, Target, ZoneDomainAnswers, wire_name,
};
use crate::model::{self, IpVersion};

/// Where one endpoint's entries are in the tables.
pub(crate) struct Placed {
    /// In `endpoints`: the endpoint domain's answers.
    pub(crate) answers: u32,
    /// In `endpoints`, the custom domain's copy of them.
    pub(crate) custom: Option<u32>,
    /// In `endpoint_domains`.
    pub(crate) domain: u32,
    /// In `zone_domains`.
    pub(crate) zone_domains: Vec<u32>,
    /// Health slots of its addresses (whose reverse names are in its VPC's
    /// view).
    pub(crate) slots: Vec<Slot>,
}

impl Tables {
    /// The endpoint domain's answers, with its ENIs, zone domains and
    /// custom domain. The model has validated that none of its names and
    /// addresses is taken.
    pub(crate) fn add_endpoint(&mut self, ep: &model::Endpoint) {
        let domain = self
            .endpoint_domains
            .insert(Arc::new((ep.id.clone(), ep.domain.clone())));
        let mut answers = EndpointAnswers {
            owner: ep.domain.clone(),
            vpc: ep.vpc_index,
            affinity: ep.zone_affinity,
            dual_stack: ep.ip_version == IpVersion::DualStack,
            a: FamilyAnswers::default(),
            aaaa: FamilyAnswers::default(),
        };
        let mut placed = Placed {
            answers: 0,
            custom: None,
            domain,
            zone_domains: Vec::new(),
            slots: Vec::new(),
        };
        for z in &ep.zones {
            self.add_eni(ep, z, &mut answers, &mut placed);
        }
        if let Some(name) = &ep.custom_domain {
            placed.custom = Some(self.add_custom_domain(name, &answers));
        }
        placed.answers = self.endpoints.insert(Arc::new(answers));
        self.insert_with_parents(&ep.domain, GeneratedNode::Endpoint(placed.answers));
        self.placed.insert(ep.id.as_str().into(), Arc::new(placed));
    }

    /// Takes endpoint `id` out, with the targets of the health slots it
    /// freed; nothing when the tables do not have it.
    pub(crate) fn remove_endpoint(&mut self, id: &str) -> Vec<Arc<Target>> {
        let Some(placed) = self.placed.remove(id) else {
            return Vec::new();
        };
        let answers = self
            .endpoints
            .remove(placed.answers)
            .expect("placed answers are live");
        if let Some((_, domain)) = self.endpoint_domains.remove(placed.domain).as_deref() {
            self.remove_with_parents(domain);
        }
        if let Some(custom) = placed.custom {
            self.endpoints.remove(custom);
            self.views[answers.vpc as usize]
                .custom
                .retain(|c| c.endpoint != custom);
        }
        for &i in &placed.zone_domains {
            if let Some(zd) = self.zone_domains.remove(i) {
                self.remove_with_parents(&zd.name);
            }
        }
        let freed = placed
            .slots
            .iter()
            .filter_map(|&slot| self.targets.remove(slot))
            .collect();
        let ptr = &mut self.views[answers.vpc as usize].ptr;
        for ip in answers.a.ips.iter().chain(&answers.aaaa.ips) {
            ptr.remove(&*wire_name(&crate::zonefile::ptr_name(*ip)));
        }
        freed
    }

    /// The ENI of one zone of `ep`: a health slot per address (shared by
    /// every name that answers with it), its reverse names, and its zone
    /// domain.
    fn add_eni(
        &mut self,
        ep: &model::Endpoint,
        z: &model::EndpointZone,
        answers: &mut EndpointAnswers,
        placed: &mut Placed,
    ) {
        let v6 = z.ipv6.filter(|_| answers.dual_stack);
        let addrs = std::iter::once(IpAddr::V4(z.ip)).chain(v6.map(IpAddr::V6));
        let zone_domain = z.domain.as_ref().map(|name| {
            self.zone_domains.insert(Arc::new(ZoneDomainAnswers {
                name: name.clone(),
                a: z.ip,
                aaaa: v6,
            }))
        });
        // Its reverse names point at the zone domain, or, for a
        // cross-region endpoint (no zone domains), at the endpoint domain.
        let target = match zone_domain {
            Some(i) => PtrTarget::ZoneDomain(i),
            None => PtrTarget::Endpoint(placed.domain),
        };
        for ip in addrs {
            let fam = if ip.is_ipv4() {
                &mut answers.a
            } else {
                &mut answers.aaaa
            };
            let slot = self
                .targets
                .insert(Arc::new(Target::new(ep.id.clone(), &z.zone, ip)));
            fam.ips.push(ip);
            fam.slots.push(slot);
            fam.zones.push(z.zone_index);
            placed.slots.push(slot);
            self.views[answers.vpc as usize].ptr.insert(
                wire_name(&crate::zonefile::ptr_name(ip)),
                PtrAnswer {
                    target,
                    ttl: self.ttl,
                },
            );
        }
        if let (Some(i), Some(name)) = (zone_domain, &z.domain) {
            placed.zone_domains.push(i);
            self.insert_with_parents(name, GeneratedNode::ZoneDomain(i));
        }
    }

    /// A custom service domain: a zone of its own in the VPC's view, owning
    /// a copy of the endpoint's answers.
    fn add_custom_domain(
        &mut self,
        domain: &hickory_proto::rr::Name,
        answers: &EndpointAnswers,
    ) -> u32 {
        let endpoint = self.endpoints.insert(Arc::new(EndpointAnswers {
            owner: domain.clone(),
            ..answers.clone()
        }));
        let mut soa_negative = self.zone.soa_negative.clone();
        soa_negative.name = domain.clone();
        self.views[answers.vpc as usize].custom.push(CustomDomain {
            name: domain.clone(),
            endpoint,
            soa_negative,
        });
        endpoint
    }
}
