//! handlecheck: finds handle lifecycle bugs in traces.
//!
//! Data flows one way (see DESIGN.md):
//! bytes → [`input`] → [`formats`] (readers) → [`model::Event`] stream →
//! [`lifecycle`] (HandleGraph) → [`rules`] → [`model::Finding`]s → [`report`].

pub mod formats;
pub mod model;
pub mod lifecycle;
