//! Sarap core: the message contracts between stages, the ethics policy and its floors,
//! the configuration file, the region table and author pseudonymisation.
//!
//! Everything here is pure (no I/O beyond reading files on request) so that every role,
//! tool and test shares one definition of what a message, a policy and a region are.

#![warn(missing_docs)]

pub mod audit;
pub mod config;
pub mod contracts;
pub mod ids;
pub mod policy;
pub mod pseudonym;
pub mod regions;

pub use contracts::*;
pub use policy::{Policy, PolicyError, PolicyViolation};
pub use regions::{Region, REGIONS};
