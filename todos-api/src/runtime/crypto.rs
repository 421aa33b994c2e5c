//! The runtime's WebCrypto (`crypto.subtle`) for RS256 signatures.
//!
//! Verifying with the platform's native RSA instead of compiling an RSA crate to Wasm keeps the
//! upload small and the check fast.

use std::cell::OnceCell;

use js_sys::{Array, JSON, Object, Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

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

    // The slices reach JS as views of Wasm memory: WebCrypto copies its inputs before `verify`
    // returns (WebCrypto, "get a copy of the bytes held by the buffer source").
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &[u8],
        data: &[u8],
    ) -> Result<Promise, JsValue>;
}

thread_local! {
    /// RSASSA-PKCS1-v1_5 with SHA-256, the WebCrypto name of JWS `RS256` (RFC 7518 §3.3): built
    /// once per isolate, as every verification passes it.
    static RS256_ALGORITHM: OnceCell<JsValue> = const { OnceCell::new() };
}

/// An imported RSA public key that can only verify RS256 signatures.
#[derive(Debug, Clone)]
pub struct Rs256VerifyKey(JsValue);

/// Imports an RSA public key from its JWK modulus `n` and exponent `e` (base64url, RFC 7518 §6.3.1).
pub async fn import_rs256_key(n: &str, e: &str) -> Result<Rs256VerifyKey, String> {
    let jwk = Object::new();
    for (member, value) in [("kty", "RSA"), ("n", n), ("e", e), ("alg", "RS256")] {
        set(&jwk, member, &JsValue::from_str(value))?;
    }
    set(&jwk, "ext", &JsValue::TRUE)?;
    let usages = Array::of1(&JsValue::from_str("verify"));
    let promise =
        subtle_import_key("jwk", &jwk, &algorithm()?, false, &usages).map_err(describe)?;
    let key = JsFuture::from(promise).await.map_err(describe)?;
    Ok(Rs256VerifyKey(key))
}

/// Verifies an RS256 signature over `data`. `Ok(false)` means the signature does not match.
pub async fn verify_rs256(
    key: &Rs256VerifyKey,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, String> {
    let promise = subtle_verify(&algorithm()?, &key.0, signature, data).map_err(describe)?;
    let verdict = JsFuture::from(promise).await.map_err(describe)?;
    Ok(verdict.as_bool().unwrap_or(false))
}

fn algorithm() -> Result<JsValue, String> {
    RS256_ALGORITHM.with(|cell| {
        if let Some(algorithm) = cell.get() {
            return Ok(algorithm.clone());
        }
        let algorithm = Object::new();
        set(&algorithm, "name", &JsValue::from_str("RSASSA-PKCS1-v1_5"))?;
        set(&algorithm, "hash", &JsValue::from_str("SHA-256"))?;
        Ok(cell.get_or_init(|| algorithm.into()).clone())
    })
}

fn set(object: &Object, member: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(object, &JsValue::from_str(member), value)
        .map(|_| ())
        .map_err(describe)
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| JSON::stringify(&error).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| format!("{error:?}"))
}
