//! The one JavaScript boundary: the runtime's WebCrypto (`crypto.subtle`) for RS256 signatures.
//!
//! Verifying with the platform's native RSA instead of compiling an RSA crate to Wasm keeps the
//! upload small and the check fast. Nothing outside this module sees a `JsValue`.

use worker::js_sys::{JSON, Promise, Uint8Array};
use worker::wasm_bindgen::{self, JsValue, prelude::wasm_bindgen};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn subtle_import_key(
        format: &str,
        key_data: &JsValue,
        algorithm: &JsValue,
        extractable: bool,
        usages: &JsValue,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &Uint8Array,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// RSASSA-PKCS1-v1_5 with SHA-256: the WebCrypto name of JWS `RS256` (RFC 7518 §3.3).
const RS256_ALGORITHM: &str = r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#;

/// An imported RSA public key that can only verify RS256 signatures.
#[derive(Debug, Clone)]
pub struct Rs256VerifyKey(JsValue);

/// Imports an RSA public key from its JWK modulus `n` and exponent `e` (base64url, RFC 7518 §6.3.1).
pub async fn import_rs256_key(n: &str, e: &str) -> Result<Rs256VerifyKey, String> {
    let jwk = serde_json::json!({ "kty": "RSA", "n": n, "e": e, "alg": "RS256", "ext": true });
    let key_data = JSON::parse(&jwk.to_string()).map_err(describe)?;
    let usages = JSON::parse(r#"["verify"]"#).map_err(describe)?;
    let promise =
        subtle_import_key("jwk", &key_data, &algorithm()?, false, &usages).map_err(describe)?;
    let key = JsFuture::from(promise).await.map_err(describe)?;
    Ok(Rs256VerifyKey(key))
}

/// Verifies an RS256 signature over `data`. `Ok(false)` means the signature does not match.
pub async fn verify_rs256(
    key: &Rs256VerifyKey,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, String> {
    let promise = subtle_verify(
        &algorithm()?,
        &key.0,
        &Uint8Array::from(signature),
        &Uint8Array::from(data),
    )
    .map_err(describe)?;
    let verdict = JsFuture::from(promise).await.map_err(describe)?;
    Ok(verdict.as_bool().unwrap_or(false))
}

fn algorithm() -> Result<JsValue, String> {
    JSON::parse(RS256_ALGORITHM).map_err(describe)
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| JSON::stringify(&error).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| format!("{error:?}"))
}
