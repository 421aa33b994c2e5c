//! Where todos live: one Workers KV value per user, read and written whole.
//!
//! | key             | value                     | TTL  |
//! |-----------------|---------------------------|------|
//! | `todos:<sub>`   | JSON `{"todos": [Todo…]}` | none |
//!
//! `<sub>` is the token's subject verbatim (`auth0|dave`, `google-oauth2|123`, anything with
//! `:`); the prefix keeps the namespace open for other kinds of value. The id space is per user:
//! a request only ever reads the list under its own subject, so another user's todo id is 404.
//! KV is last-write-wins: two concurrent writes by one user can lose one change, acceptable for
//! a demo resource server.

use crate::error::ApiError;
use crate::runtime::{self, Env, kv::KvNamespace};
use crate::todos::model::{self, TodoList};

/// The KV binding name (`wrangler.toml`).
pub const BINDING: &str = "TODOS_KV";

/// The KV key of a user's list.
pub fn key_for(sub: &str) -> String {
    format!("todos:{sub}")
}

/// The current time as RFC 3339 (the runtime's `Date`; Wasm has no system clock).
pub fn now_rfc3339() -> String {
    runtime::now_rfc3339()
}

/// One user's todos in KV.
#[derive(Debug)]
pub struct TodoStore {
    kv: KvNamespace,
    key: String,
}

impl TodoStore {
    /// Opens the store of the user `sub`.
    pub fn open(env: &Env, sub: &str) -> Result<Self, ApiError> {
        let kv = env
            .kv(BINDING)
            .map_err(|err| ApiError::Internal(format!("KV binding {BINDING}: {err}")))?;
        Ok(Self {
            kv,
            key: key_for(sub),
        })
    }

    /// The user's list; a user seen for the first time gets three todos, stored at once.
    pub async fn load(&self) -> Result<TodoList, ApiError> {
        let stored = self
            .kv
            .get_text(&self.key)
            .await
            .map_err(|err| ApiError::Internal(format!("KV get: {err}")))?;
        match stored {
            Some(text) => serde_json::from_str(&text)
                .map_err(|err| ApiError::Internal(format!("stored list is malformed: {err}"))),
            None => {
                let ids = [fresh_id()?, fresh_id()?, fresh_id()?];
                let list = TodoList::seeded(ids, &now_rfc3339());
                self.save(&list).await?;
                Ok(list)
            }
        }
    }

    /// Writes the user's list back.
    pub async fn save(&self, list: &TodoList) -> Result<(), ApiError> {
        let text = serde_json::to_string(list)
            .map_err(|err| ApiError::Internal(format!("list does not serialize: {err}")))?;
        self.kv
            .put(&self.key, &text)
            .await
            .map_err(|err| ApiError::Internal(format!("KV put: {err}")))
    }
}

/// A new random todo id.
pub fn fresh_id() -> Result<String, ApiError> {
    model::new_id().map_err(|err| ApiError::Internal(format!("no randomness: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_subject_verbatim() {
        assert_eq!(key_for("auth0|dave"), "todos:auth0|dave");
        assert_eq!(key_for("urn:x:y"), "todos:urn:x:y");
    }
}
