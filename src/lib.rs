//! epdns: authoritative DNS for a lab PrivateLink + PrivateZone network.

pub mod config;
pub mod dns;
pub mod model;
pub mod server;
pub mod snapshot;
pub mod zonefile;
