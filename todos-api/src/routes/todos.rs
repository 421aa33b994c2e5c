//! `/api/todos` (`read:todos` to list, `write:todos` to change): the caller's own todos.

use crate::auth::jwt::VerifiedToken;
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::runtime::{Env, Request};
use crate::todos::model::{NewTodo, TodoPatch, is_todo_id};
use crate::todos::store::{TodoStore, fresh_id, now_rfc3339};

/// `GET /api/todos`: `{"todos": [...]}`.
pub async fn list(env: &Env, token: &VerifiedToken) -> Result<Response, ApiError> {
    let list = TodoStore::open(env, &token.subject)?.load().await?;
    http::json(200, &list)
}

/// `POST /api/todos` with `{"title": "..."}`: 201 with the new todo.
pub async fn create(
    request: &Request,
    env: &Env,
    token: &VerifiedToken,
) -> Result<Response, ApiError> {
    let new = NewTodo::from_json(&http::read_json_body(request).await?)?;
    let store = TodoStore::open(env, &token.subject)?;
    let mut list = store.load().await?;
    let todo = list
        .add(fresh_id()?, new, &now_rfc3339())
        .map_err(|_| ApiError::TooManyTodos)?
        .clone();
    store.save(&list).await?;
    http::json(201, &todo)
}

/// `PATCH /api/todos/{id}` with `{"title"?, "completed"?}`: 200 with the changed todo.
pub async fn update(
    request: &Request,
    env: &Env,
    token: &VerifiedToken,
    id: &str,
) -> Result<Response, ApiError> {
    let patch = TodoPatch::from_json(&http::read_json_body(request).await?)?;
    if !is_todo_id(id) {
        return Err(ApiError::NotFound);
    }
    let store = TodoStore::open(env, &token.subject)?;
    let mut list = store.load().await?;
    let todo = list
        .update(id, patch, &now_rfc3339())
        .ok_or(ApiError::NotFound)?
        .clone();
    store.save(&list).await?;
    http::json(200, &todo)
}

/// `DELETE /api/todos/{id}`: 204.
pub async fn delete(env: &Env, token: &VerifiedToken, id: &str) -> Result<Response, ApiError> {
    if !is_todo_id(id) {
        return Err(ApiError::NotFound);
    }
    let store = TodoStore::open(env, &token.subject)?;
    let mut list = store.load().await?;
    if !list.remove(id) {
        return Err(ApiError::NotFound);
    }
    store.save(&list).await?;
    Ok(http::no_content())
}
