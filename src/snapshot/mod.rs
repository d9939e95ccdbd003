//! Immutable answer tables built from model + health, published through
//! `ArcSwap` and read wait-free by the query path.

pub mod answer;
pub(crate) mod fast_answer;
pub mod publish;
pub mod tables;

#[cfg(test)]
mod cname_tests;

pub use answer::{Answer, Client, Depends, Snapshot};
pub use publish::Publisher;
pub use tables::{AllDownPolicy, Slot, Tables, Target};
