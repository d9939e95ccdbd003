//! The domain types and every rule about them. A config load, a reload and (later)
//! an API call all go through `validate::build`, the only maker of a `Model`.

pub(crate) mod names;
pub(crate) mod probe;
pub(crate) mod types;
pub(crate) mod validate;

pub(crate) use types::*;
pub use types::{Endpoint, Model, ModelParts, ServerSettings};
pub(crate) use validate::{ValidationError, admin_reachable, build, change_endpoint};
