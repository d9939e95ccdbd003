//! The cloud-compatible control API: Alibaba Cloud's PrivateLink
//! (2020-04-15) API over HTTP, so that the official SDKs drive the lab
//! unchanged. `request` reads the wire format, `signature` (with `nonce`)
//! checks who signed, `error` shapes the cloud's error replies.

pub mod alloc;
pub mod error;
pub mod http;
pub mod nonce;
pub mod plane;
pub mod privatelink;
pub mod record;
pub mod request;
pub mod signature;
