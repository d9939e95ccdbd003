//! Immutable answer tables built from model + health, published through
//! `ArcSwap` and read wait-free by the query path.

pub(crate) mod answer;
pub(crate) mod fast_answer;
pub(crate) mod place;
pub(crate) mod publish;
pub(crate) mod slab;
pub(crate) mod tables;
pub(crate) mod update;

#[cfg(test)]
mod cname_tests;
#[cfg(test)]
mod update_tests;

pub use answer::Snapshot;
pub(crate) use answer::{Answer, Client, Depends};
pub use publish::Publisher;
#[cfg(test)]
pub(crate) use tables::AllDownPolicy;
pub use tables::Tables;
pub(crate) use tables::Target;
