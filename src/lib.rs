//! handlecheck: finds handle lifecycle bugs in traces.
//!
//! Data flows one way (see DESIGN.md):
//! bytes → [`input`] → [`formats`] (readers) → [`model::Event`] stream →
//! [`lifecycle`] (HandleGraph) → [`rules`] → [`model::Finding`]s → [`report`].
//! [`analysis`] runs that pipeline; the binary (its CLI layer, `commands/`)
//! only wires the command line to it.

pub mod analysis;
pub mod baseline;
pub mod config;
pub mod formats;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod lifecycle;
pub mod model;
pub mod report;
pub mod rules;
