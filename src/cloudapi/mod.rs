//! The cloud-compatible control API: Alibaba Cloud's PrivateLink
//! (2020-04-15) and PrivateZone (2018-01-01) APIs over HTTP, so that the
//! official SDKs drive the lab unchanged.
//!
//! `request` reads the wire format, `signature` (with `nonce`) checks who
//! signed, `error` shapes the cloud's error replies, `http` serves them and
//! hands verified calls to the control loop. `plane` is the desired state
//! (`record`: what the store keeps), joined to the config for validation;
//! `privatelink` and `privatezone` are the actions, `alloc` finds free ENI
//! addresses.

pub(crate) mod alloc;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod nonce;
pub(crate) mod plane;
#[cfg(test)]
mod plane_tests;
pub(crate) mod privatelink;
pub(crate) mod privatezone;
pub(crate) mod record;
pub(crate) mod request;
pub(crate) mod signature;
