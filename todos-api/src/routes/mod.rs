//! The handlers, one module per resource. Each gets a request that already passed routing,
//! authentication and the scope check.

pub mod billing;
pub mod health;
pub mod me;
pub mod todos;
