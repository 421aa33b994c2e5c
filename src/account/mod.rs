//! `/account`: the user's connected apps. A user signs in through the same identity provider
//! (a short sign-in of its own: `openid email`, PKCE S256, `nonce`, `state`), sees every grant
//! they gave and revokes any of them; `/admin/…` ([`admin`]) does the same for an operator.
//!
//! Data flow: [`login`] → identity provider → [`callback`] (session cookie, [`session`]) →
//! [`show`] (grants from the library, [`grants`]) → [`revoke`] / [`sign_out`] (POST, CSRF).
//!
//! The user is identified exactly as `/callback` identifies the owner of an MCP grant
//! ([`crate::upstream::user_id_for_subject`] of the verified ID token's `sub`), so the page can
//! only ever reach grants made by the same upstream account.

pub mod admin;
pub mod grants;
pub mod page;
pub mod session;

use serde::Serialize;
use worker::{Env, Headers, Method, Request, Response};

use self::grants::Revoked;
use self::page::Notice;
use self::session::{Expiring, Purpose, SESSION_COOKIE, SIGN_IN_COOKIE, Session, SignIn};
use crate::OAUTH_KV;
use crate::bindings::{self, Kv, OAuthApi};
use crate::config::Config;
use crate::error::{self, AppError};
use crate::log;
use crate::upstream::client::{Upstream, UpstreamError};
use crate::upstream::token::TokenOutcome;
use crate::upstream::{pkce, user_id_for_subject};
use crate::web_url::WebUrl;

/// The page.
pub const PAGE: &str = "/account";
/// Starts the sign-in.
pub const LOGIN: &str = "/account/login";
/// The identity provider's return (registered there as `<PUBLIC_URL>/account/callback`).
pub const CALLBACK: &str = "/account/callback";
/// POST: revoke one grant.
pub const REVOKE: &str = "/account/revoke";
/// POST: end the session.
pub const SIGN_OUT: &str = "/account/signout";
/// The scopes of the account sign-in: who the user is, nothing more (OIDC Core §5.4).
pub const SIGN_IN_SCOPE: [&str; 2] = ["openid", "email"];
/// KV prefix of ended sessions (sign-out), kept until the session would have expired.
pub const ENDED_PREFIX: &str = "account:ended:";
/// KV's shortest expiration TTL.
const KV_MIN_TTL: u64 = 60;

/// Whether `path` is served by this module.
pub fn handles(path: &str) -> bool {
    path == PAGE || path.starts_with("/account/") || path.starts_with(admin::PREFIX)
}

/// Routes `/account…` and `/admin/…`.
pub async fn serve(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let path = crate::request_path(&req);
    match (req.method(), path.as_str()) {
        (_, p) if p.starts_with(admin::PREFIX) => admin::serve(req, env).await,
        (Method::Get, PAGE) => show(req, env, config).await,
        (Method::Get, LOGIN) => login(config).await,
        (Method::Get, CALLBACK) => callback(req, env, config).await,
        (Method::Post, REVOKE) => revoke(req, env, config).await,
        (Method::Post, SIGN_OUT) => sign_out(req, env, config).await,
        (_, PAGE | LOGIN | CALLBACK) => not_allowed("GET"),
        (_, REVOKE | SIGN_OUT) => not_allowed("POST"),
        _ => Ok(Response::error("Not Found", 404)?),
    }
}

fn not_allowed(allow: &str) -> Result<Response, AppError> {
    let response = Response::error("Method Not Allowed", 405)?;
    response.headers().set("Allow", allow)?;
    Ok(response)
}

/// An account page with the shared secure headers ([`error::secure_html_headers`]: no framing,
/// no caching, nosniff, a CSP without scripts) plus two of its own: `Referrer-Policy:
/// same-origin`, so the page's forms carry a real `Origin` for the CSRF check, and CSP
/// `form-action 'self'`, so its forms can only post here.
fn html(status: u16, body: String, headers: Headers) -> Result<Response, AppError> {
    let response = error::html(status, body, headers)?;
    response.headers().set("Referrer-Policy", "same-origin")?;
    response
        .headers()
        .append("Content-Security-Policy", "form-action 'self'")?;
    Ok(response)
}

fn refusal(status: u16, title: &str, message: &str, reason: &str) -> Result<Response, AppError> {
    log::warning!("account.refused", "status" => status, "reason" => reason);
    html(status, page::error(title, message), Headers::new())
}

/// 303 See Other (RFC 9110 §15.4.4): after a POST, the browser GETs the page.
fn see_other(location: &str, headers: Headers) -> Result<Response, AppError> {
    headers.set("Location", location)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

// ── Sealing: HMAC-SHA256 through WebCrypto, one derived key per purpose ────────────────────

/// The key for `purpose`, derived from `CONSENT_SECRET` (see `DESIGN.account-section.md`: one
/// secret fewer to provision; the label separates this key from the library's use of it).
async fn key(config: &Config, purpose: Purpose) -> Result<Vec<u8>, AppError> {
    bindings::hmac_sha256(config.consent_secret.expose().as_bytes(), purpose.label())
        .await
        .map_err(AppError::Internal)
}

async fn seal<T: Serialize>(
    config: &Config,
    purpose: Purpose,
    value: &T,
) -> Result<String, AppError> {
    let payload = session::encode_payload(value);
    let mac = bindings::hmac_sha256(&key(config, purpose).await?, payload.as_bytes())
        .await
        .map_err(AppError::Internal)?;
    Ok(session::seal(&payload, &mac))
}

/// The value of cookie `name`, if its MAC verifies and it has not expired.
async fn open<T: crate::json::FromFields + Expiring>(
    req: &Request,
    config: &Config,
    name: &str,
    purpose: Purpose,
) -> Result<Option<T>, AppError> {
    let header = req.headers().get("Cookie")?.unwrap_or_default();
    let Some((payload, mac)) = session::cookie_value(&header, name).and_then(session::unseal)
    else {
        return Ok(None);
    };
    let expected = bindings::hmac_sha256(&key(config, purpose).await?, payload.as_bytes())
        .await
        .map_err(AppError::Internal)?;
    if !session::constant_time_eq(&expected, &mac) {
        log::warning!("account.cookie_refused", "cookie" => name, "reason" => "bad signature");
        return Ok(None);
    }
    Ok(session::open(payload, bindings::now_seconds()))
}

/// The signed-in session: a valid cookie whose session was not signed out.
async fn current_session(
    req: &Request,
    env: &Env,
    config: &Config,
) -> Result<Option<Session>, AppError> {
    let Some(session) = open::<Session>(req, config, SESSION_COOKIE, Purpose::Session).await?
    else {
        return Ok(None);
    };
    let ended = Kv::from_env(env, OAUTH_KV)
        .map_err(AppError::Internal)?
        .get_text(&format!("{ENDED_PREFIX}{}", session.sid))
        .await
        .map_err(AppError::Internal)?;
    Ok(ended.is_none().then_some(session))
}

fn has_cookie(req: &Request, name: &str) -> bool {
    let header = req
        .headers()
        .get("Cookie")
        .ok()
        .flatten()
        .unwrap_or_default();
    session::cookie_value(&header, name).is_some()
}

// ── Routes ──────────────────────────────────────────────────────────────────────────────────

/// `GET /account`: the user's grants, or the sign-in link.
pub async fn show(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let url = req.inner().url();
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let notice = match query {
        "revoked=1" => Some(Notice::Revoked),
        "signed_out=1" => Some(Notice::SignedOut),
        _ => None,
    };
    let Some(session) = current_session(&req, env, config).await? else {
        let headers = Headers::new();
        if has_cookie(&req, SESSION_COOKIE) {
            // Expired, tampered with, or signed out: drop it.
            headers.append("Set-Cookie", &session::clear_cookie(SESSION_COOKIE))?;
        }
        return html(200, page::signed_out(notice), headers);
    };
    let api = OAuthApi::from_env(env)?;
    let list = grants::list(&api, env, &session.uid).await?;
    log::debug!("account.shown", "user" => session.uid, "grants" => list.len());
    html(
        200,
        page::connected_apps(&session.name, &session.csrf, &list, notice),
        Headers::new(),
    )
}

fn account_callback_url(config: &Config) -> String {
    format!("{}{CALLBACK}", config.public_url)
}

/// `GET /account/login`: PKCE pair, `nonce` and `state` sealed in the sign-in cookie, then the
/// redirect to the identity provider.
pub async fn login(config: &Config) -> Result<Response, AppError> {
    let idp = Upstream::identity_only(config, account_callback_url(config));
    let verifier = pkce::CodeVerifier::from_random(bindings::random_bytes::<32>());
    let digest = bindings::sha256(verifier.expose().as_bytes())
        .await
        .map_err(AppError::Internal)?;
    let sign_in = SignIn {
        state: session::token_from_random(bindings::random_bytes::<32>()),
        nonce: pkce::nonce_from_random(bindings::random_bytes::<16>()),
        verifier,
        exp: bindings::now_seconds() + session::SIGN_IN_SECONDS,
    };
    let scope: Vec<String> = SIGN_IN_SCOPE.iter().map(|s| (*s).to_owned()).collect();
    let location = idp
        .authorize_url(
            &sign_in.state,
            &pkce::s256_challenge(&digest),
            &sign_in.nonce,
            &scope,
        )
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    let headers = Headers::new();
    headers.append(
        "Set-Cookie",
        &session::set_cookie(
            SIGN_IN_COOKIE,
            &seal(config, Purpose::SignIn, &sign_in).await?,
            session::SIGN_IN_SECONDS,
        ),
    )?;
    log::debug!("account.sign_in_started", "issuer" => config.issuer);
    see_other(&location, headers)
}

const EXPIRED_TITLE: &str = "This sign-in has expired";
const EXPIRED_MESSAGE: &str =
    "It was already used, is more than ten minutes old, or was started in another browser.";

/// `GET /account/callback`: checks `state` against the sign-in cookie, exchanges the code with
/// the PKCE verifier, verifies the ID token and its `nonce`, and starts a session.
pub async fn callback(req: Request, _env: &Env, config: &Config) -> Result<Response, AppError> {
    let Some(sign_in) = open::<SignIn>(&req, config, SIGN_IN_COOKIE, Purpose::SignIn).await? else {
        return refusal(
            400,
            EXPIRED_TITLE,
            EXPIRED_MESSAGE,
            "no valid sign-in cookie",
        );
    };
    let url = WebUrl::parse(&req.inner().url());
    let param = |name: &str| url.as_ref().and_then(|url| url.query_param(name));
    // RFC 6749 §10.12, RFC 9700 §4.7.1: the answer must belong to this browser's sign-in.
    let state_ok = param("state")
        .is_some_and(|s| session::constant_time_eq(s.as_bytes(), sign_in.state.as_bytes()));
    if !state_ok {
        return refusal(400, EXPIRED_TITLE, EXPIRED_MESSAGE, "state does not match");
    }
    // The sign-in cookie is single use: whatever happens next, it goes.
    let headers = Headers::new();
    headers.append("Set-Cookie", &session::clear_cookie(SIGN_IN_COOKIE))?;
    let failed = |title: &str, message: &str, reason: &str| -> Result<Response, AppError> {
        log::warning!("account.sign_in_failed", "reason" => reason);
        html(400, page::error(title, message), headers.clone())
    };
    if param("error").is_some() {
        return failed(
            "Sign-in did not complete",
            "The identity provider did not sign you in.",
            "upstream error",
        );
    }
    let idp = Upstream::identity_only(config, account_callback_url(config));
    let discovery = idp
        .discovery()
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    // RFC 9207 §2.4: a named issuer must be the one this sign-in went to.
    if param("iss").is_some_and(|iss| iss != discovery.issuer) {
        return failed(
            "Sign-in did not complete",
            "The answer came from an unexpected issuer.",
            "iss mismatch",
        );
    }
    let Some(code) = param("code") else {
        return failed(
            "Sign-in did not complete",
            "The identity provider returned no code.",
            "no code",
        );
    };
    let tokens = match idp.exchange_code(&code, sign_in.verifier.expose()).await {
        Ok(TokenOutcome::Issued(tokens)) => tokens,
        Ok(TokenOutcome::Refused(_)) => {
            return failed(
                "Sign-in did not complete",
                "The identity provider refused the sign-in.",
                "code refused",
            );
        }
        Ok(TokenOutcome::Failed(cause))
        | Err(UpstreamError::Unavailable(cause) | UpstreamError::Invalid(cause)) => {
            return Err(AppError::Unavailable(cause));
        }
    };
    let Some(id_token) = tokens.id_token.as_deref() else {
        return failed(
            "Sign-in did not complete",
            "The identity provider returned no ID token.",
            "no id token",
        );
    };
    let user = match idp
        .verify_id_token(id_token, Some(&sign_in.nonce), None)
        .await
    {
        Ok(user) => user,
        Err(UpstreamError::Unavailable(cause)) => return Err(AppError::Unavailable(cause)),
        Err(UpstreamError::Invalid(cause)) => {
            return failed(
                "Sign-in did not complete",
                "The sign-in could not be verified.",
                &cause,
            );
        }
    };
    // The upstream tokens are not kept: the session needs only who the user is.
    let session = Session {
        sid: session::token_from_random(bindings::random_bytes::<16>()),
        uid: user_id_for_subject(&user.sub),
        name: user
            .email
            .clone()
            .or(user.name.clone())
            .unwrap_or_else(|| user.sub.clone()),
        csrf: session::token_from_random(bindings::random_bytes::<32>()),
        exp: bindings::now_seconds() + session::SESSION_SECONDS,
    };
    // A fresh session id on every sign-in (OWASP Session Management: renew on login).
    headers.append(
        "Set-Cookie",
        &session::set_cookie(
            SESSION_COOKIE,
            &seal(config, Purpose::Session, &session).await?,
            session::SESSION_SECONDS,
        ),
    )?;
    log::debug!("account.signed_in", "user" => session.uid);
    see_other(PAGE, headers)
}

/// The checks of every state-changing POST: `Origin`, session, then the CSRF token
/// (OWASP CSRF Prevention Cheat Sheet: origin verification plus a synchronizer token).
/// Returns the session and the form, or the refusal to send.
async fn authorised_post(
    mut req: Request,
    env: &Env,
    config: &Config,
) -> Result<Result<(Session, worker::FormData), Response>, AppError> {
    let origin = req.headers().get("Origin")?;
    if !session::origin_allowed(origin.as_deref(), &config.public_url) {
        return refusal(
            403,
            "This request was refused",
            "It did not come from this page.",
            "origin",
        )
        .map(Err);
    }
    let Some(session) = current_session(&req, env, config).await? else {
        return refusal(
            401,
            "You are signed out",
            "Sign in again to manage your connected apps.",
            "no session",
        )
        .map(Err);
    };
    let Ok(form) = req.form_data().await else {
        return refusal(
            400,
            "This request was refused",
            "The form could not be read.",
            "bad form",
        )
        .map(Err);
    };
    let posted = match form.get("csrf") {
        Some(worker::FormEntry::Field(value)) => Some(value),
        _ => None,
    };
    if !session::csrf_matches(&session, posted.as_deref()) {
        return refusal(
            403,
            "This request was refused",
            "The form has expired. Reload the page and try again.",
            "csrf",
        )
        .map(Err);
    }
    Ok(Ok((session, form)))
}

/// `POST /account/revoke`: revokes one of the signed-in user's grants.
pub async fn revoke(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let (session, form) = match authorised_post(req, env, config).await? {
        Ok(checked) => checked,
        Err(refused) => return Ok(refused),
    };
    let grant_id = match form.get("grant") {
        Some(worker::FormEntry::Field(value)) if !value.is_empty() => value,
        _ => {
            return refusal(
                400,
                "This request was refused",
                "No app was chosen.",
                "no grant",
            );
        }
    };
    let api = OAuthApi::from_env(env)?;
    match grants::revoke(&api, env, &session.uid, &grant_id).await? {
        Revoked::Done { client_id } => {
            log::debug!(
                "account.grant_revoked",
                "user" => session.uid,
                "grant" => grant_id,
                "client_id" => client_id,
            );
            see_other(&format!("{PAGE}?revoked=1"), Headers::new())
        }
        Revoked::NotFound => refusal(
            404,
            "No such connected app",
            "It may have been revoked already.",
            "grant not the user's",
        ),
    }
}

/// `POST /account/signout`: records the session as ended (so a copy of the cookie stops working
/// too) and deletes the cookie.
pub async fn sign_out(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let (session, _) = match authorised_post(req, env, config).await? {
        Ok(checked) => checked,
        Err(refused) => return Ok(refused),
    };
    let ttl = session
        .exp
        .saturating_sub(bindings::now_seconds())
        .max(KV_MIN_TTL);
    Kv::from_env(env, OAUTH_KV)
        .map_err(AppError::Internal)?
        .put_text(&format!("{ENDED_PREFIX}{}", session.sid), "1", ttl)
        .await
        .map_err(AppError::Internal)?;
    let headers = Headers::new();
    headers.append("Set-Cookie", &session::clear_cookie(SESSION_COOKIE))?;
    log::debug!("account.signed_out", "user" => session.uid);
    see_other(&format!("{PAGE}?signed_out=1"), headers)
}
