//! epdns: authoritative DNS for a lab PrivateLink + PrivateZone network.

pub(crate) mod api;
pub(crate) mod cloudapi;
pub(crate) mod config;
pub(crate) mod cow;
pub mod dns;
pub mod forward;
pub mod load;
pub mod model;
pub mod probe;
pub mod server;
pub mod snapshot;
pub mod store;
pub(crate) mod wire;
pub(crate) mod xfr;
pub mod zonefile;
