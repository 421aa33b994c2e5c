//! The user's todos: the model and its rules (`model`), kept in Workers KV (`store`).

pub mod model;
pub mod store;
