//! Helpers shared by the test modules.

pub mod alloc;
pub mod etl_builder;
pub mod reader;
pub mod shared;
pub mod synthetic;
pub mod views;
