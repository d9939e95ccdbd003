//! The domain types and every rule about them. A config load, a reload and (later)
//! an API call all go through `validate::build`, the only maker of a `Model`.

pub mod names;
pub mod probe;
pub mod types;
pub mod validate;

pub use types::*;
pub use validate::{ValidationError, admin_reachable, build};
