//! epdns: authoritative DNS for a lab PrivateLink + PrivateZone network.

pub mod probe;
