//! What the endpoints of a valid model claim: their ids, ENI addresses,
//! generated names and custom domains, each with its one owner. A full
//! build fills these as it checks each endpoint; the model keeps them
//! (`CowMap`s: a changed model shares them), so that one changed
//! endpoint is checked against them alone, by the same rule code
//! (`change_endpoint`).

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::cow::CowMap;
use crate::model::types::Endpoint;

/// An endpoint that claims something: its id and its place in the config
/// (what an error names it by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) id: Arc<str>,
    pub(crate) index: u32,
}

impl Owner {
    /// How a full build names it: `endpoint 'ep-lab1' (endpoint[0])`.
    pub(crate) fn name(&self) -> String {
        format!("endpoint '{}' (endpoint[{}])", self.id, self.index)
    }
}

/// Who generated a name: an endpoint, for its endpoint domain, or one of
/// its zones, for a zone domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameOwner {
    pub(crate) owner: Owner,
    pub(crate) zone: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Claims {
    pub(super) ids: CowMap<String, ()>,
    /// (VPC, address) → the endpoint whose ENI has it.
    pub(super) addresses: CowMap<(String, IpAddr), Owner>,
    /// Generated names by their lowercase wire form (a quarter of a
    /// `Name`'s size).
    pub(super) names: CowMap<Box<[u8]>, NameOwner>,
    /// (VPC, custom domain) → the endpoint that enabled it there.
    pub(super) custom: CowMap<(String, Name), Arc<str>>,
}

/// The key of a generated name in `Claims::names`.
pub(super) fn name_key(name: &Name) -> Box<[u8]> {
    crate::wire::WireName::new(name).bytes().into()
}

impl Claims {
    /// Takes out what `ep`, an endpoint of the valid model these claims
    /// belong to, claims: in a valid model each claim has one owner.
    pub(super) fn release(&mut self, ep: &Endpoint) {
        self.ids.remove(&ep.id);
        self.names.remove(&*name_key(&ep.domain));
        for z in &ep.zones {
            let v6 = z.ipv6.map(IpAddr::V6);
            for addr in std::iter::once(IpAddr::V4(z.ip)).chain(v6) {
                self.addresses.remove(&(ep.vpc.clone(), addr));
            }
            if let Some(d) = &z.domain {
                self.names.remove(&*name_key(d));
            }
        }
        if let Some(d) = &ep.custom_domain {
            let key = (ep.vpc.clone(), d.clone());
            if self.custom.get(&key).is_some_and(|o| **o == *ep.id) {
                self.custom.remove(&key);
            }
        }
    }
}
