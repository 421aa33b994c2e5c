//! Todos and the rules for changing them. Pure: no storage, no clock, no randomness of its own.

use serde::{Deserialize, Serialize};

use crate::body::{self, BodyError};

/// Longest title, in characters (Unicode scalar values) after trimming.
pub const MAX_TITLE_CHARS: usize = 200;

/// Most todos one user can keep, which bounds the size of the user's KV value.
pub const MAX_TODOS: usize = 100;

/// Length of a todo id: 16 lowercase hex digits (64 random bits).
pub const ID_LEN: usize = 16;

/// One todo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    /// Random id, unique within the user's list.
    pub id: String,
    /// What to do.
    pub title: String,
    /// Whether it is done.
    pub completed: bool,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// All of one user's todos: the value stored under the user's KV key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoList {
    /// Oldest first.
    pub todos: Vec<Todo>,
}

/// A title that passed validation: trimmed, 1 to [`MAX_TITLE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    /// Trims and checks a title.
    pub fn parse(raw: &str) -> Result<Self, BodyError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(BodyError::Invalid("title must not be empty".to_owned()));
        }
        if chars > MAX_TITLE_CHARS {
            return Err(BodyError::Invalid(format!(
                "title must be at most {MAX_TITLE_CHARS} characters"
            )));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

/// The body of `POST /api/todos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTodo {
    /// The title.
    pub title: Title,
}

/// The body of `PATCH /api/todos/{id}`: at least one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoPatch {
    /// New title, if changing.
    pub title: Option<Title>,
    /// New state, if changing.
    pub completed: Option<bool>,
}

impl NewTodo {
    /// Decodes and validates `{"title": string}`; unknown fields are refused.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            title: String,
        }
        let wire: Wire = body::decode_object(bytes)?;
        Ok(Self {
            title: Title::parse(&wire.title)?,
        })
    }
}

impl TodoPatch {
    /// Decodes and validates `{"title"?: string, "completed"?: bool}`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            completed: Option<bool>,
        }
        let wire: Wire = body::decode_object(bytes)?;
        if wire.title.is_none() && wire.completed.is_none() {
            return Err(BodyError::Invalid(
                "give at least one of title and completed".to_owned(),
            ));
        }
        Ok(Self {
            title: wire.title.as_deref().map(Title::parse).transpose()?,
            completed: wire.completed,
        })
    }
}

/// The list is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListFull;

impl TodoList {
    /// The three todos a new user starts with.
    pub fn seeded(ids: [String; 3], now: &str) -> Self {
        let titles = [
            ("Review the pull request for the login page", false),
            ("Renew the team's domain name", true),
            ("Book a venue for the quarterly planning day", false),
        ];
        Self {
            todos: ids
                .into_iter()
                .zip(titles)
                .map(|(id, (title, completed))| Todo {
                    id,
                    title: title.to_owned(),
                    completed,
                    created_at: now.to_owned(),
                    updated_at: now.to_owned(),
                })
                .collect(),
        }
    }

    /// Appends a todo.
    pub fn add(&mut self, id: String, new: NewTodo, now: &str) -> Result<&Todo, ListFull> {
        if self.todos.len() >= MAX_TODOS {
            return Err(ListFull);
        }
        self.todos.push(Todo {
            id,
            title: new.title.0,
            completed: false,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        });
        self.todos.last().ok_or(ListFull)
    }

    /// Applies a patch to the todo `id`; `None` when the user has no such todo.
    pub fn update(&mut self, id: &str, patch: TodoPatch, now: &str) -> Option<&Todo> {
        let todo = self.todos.iter_mut().find(|todo| todo.id == id)?;
        if let Some(title) = patch.title {
            todo.title = title.0;
        }
        if let Some(completed) = patch.completed {
            todo.completed = completed;
        }
        todo.updated_at = now.to_owned();
        Some(todo)
    }

    /// Removes the todo `id`; `false` when the user has no such todo.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.todos.len();
        self.todos.retain(|todo| todo.id != id);
        self.todos.len() != before
    }
}

/// True when `id` has the shape of a todo id (so other strings are 404 without a lookup).
pub fn is_todo_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh random todo id.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; ID_LEN / 2];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-26T10:00:00.000Z";
    const LATER: &str = "2026-11-26T11:00:00.000Z";

    fn seeded() -> TodoList {
        TodoList::seeded(
            [
                "000000000000000a".to_owned(),
                "000000000000000b".to_owned(),
                "000000000000000c".to_owned(),
            ],
            NOW,
        )
    }

    #[test]
    fn a_new_user_gets_three_todos() {
        let list = seeded();
        assert_eq!(list.todos.len(), 3);
        assert!(
            list.todos
                .iter()
                .all(|t| is_todo_id(&t.id) && !t.title.is_empty())
        );
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        let new = NewTodo::from_json(br#"{"title":"  Buy milk  "}"#).expect("valid");
        assert_eq!(new.title, Title("Buy milk".to_owned()));
        let max = "é".repeat(MAX_TITLE_CHARS);
        assert!(
            NewTodo::from_json(serde_json::json!({ "title": max }).to_string().as_bytes()).is_ok()
        );
        let too_long = "é".repeat(MAX_TITLE_CHARS + 1);
        assert!(
            NewTodo::from_json(
                serde_json::json!({ "title": too_long })
                    .to_string()
                    .as_bytes()
            )
            .is_err()
        );
        assert!(NewTodo::from_json(br#"{"title":"   "}"#).is_err());
    }

    #[test]
    fn create_bodies_of_the_wrong_shape_are_invalid() {
        for body in [
            &br#"{}"#[..],
            br#"{"title":5}"#,
            br#"{"title":null}"#,
            br#"{"title":"a","extra":1}"#,
            br#"["a"]"#,
            b"not json",
        ] {
            assert!(
                matches!(NewTodo::from_json(body), Err(BodyError::Invalid(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn patches_need_at_least_one_known_field() {
        assert!(TodoPatch::from_json(br#"{}"#).is_err());
        assert!(TodoPatch::from_json(br#"{"completed":"yes"}"#).is_err());
        assert!(TodoPatch::from_json(br#"{"done":true}"#).is_err());
        let patch = TodoPatch::from_json(br#"{"completed":true}"#).expect("valid");
        assert_eq!(patch.completed, Some(true));
        assert_eq!(patch.title, None);
    }

    #[test]
    fn add_update_and_remove_change_only_the_named_todo() {
        let mut list = seeded();
        let new = NewTodo::from_json(br#"{"title":"Write tests"}"#).expect("valid");
        let added = list
            .add("00000000000000ff".to_owned(), new, NOW)
            .expect("room")
            .clone();
        assert!(!added.completed);
        let patch = TodoPatch::from_json(br#"{"title":"Write more tests","completed":true}"#)
            .expect("valid");
        let updated = list
            .update(&added.id, patch, LATER)
            .expect("exists")
            .clone();
        assert_eq!(updated.title, "Write more tests");
        assert!(updated.completed);
        assert_eq!(updated.created_at, NOW);
        assert_eq!(updated.updated_at, LATER);
        assert!(list.remove(&added.id));
        assert!(!list.remove(&added.id));
        assert_eq!(list, seeded());
    }

    #[test]
    fn unknown_ids_are_not_found() {
        let mut list = seeded();
        let patch = TodoPatch::from_json(br#"{"completed":true}"#).expect("valid");
        assert!(list.update("ffffffffffffffff", patch, NOW).is_none());
    }

    #[test]
    fn the_list_is_bounded() {
        let mut list = TodoList::default();
        for i in 0..MAX_TODOS {
            let new = NewTodo::from_json(br#"{"title":"x"}"#).expect("valid");
            assert!(list.add(format!("{i:016x}"), new, NOW).is_ok());
        }
        let new = NewTodo::from_json(br#"{"title":"x"}"#).expect("valid");
        assert_eq!(
            list.add("ffffffffffffffff".to_owned(), new, NOW),
            Err(ListFull)
        );
    }

    #[test]
    fn ids_are_sixteen_lowercase_hex_digits() {
        let id = new_id().expect("random");
        assert!(is_todo_id(&id), "{id}");
        assert_ne!(id, new_id().expect("random"));
        for bad in [
            "",
            "00000000000000",
            "000000000000000G",
            "000000000000000A",
            "0000000000000000a",
        ] {
            assert!(!is_todo_id(bad), "{bad}");
        }
    }
}
