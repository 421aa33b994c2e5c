//! PKCE (RFC 7636) and `nonce` (OIDC Core §3.1.2.1) values for the upstream sign-in.
//!
//! Pure: the random bytes and the SHA-256 digest come from the caller (WebCrypto in the worker),
//! so the encoding is tested on the host against RFC 7636 Appendix B.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Serialize;

/// A PKCE code verifier. Not `Clone`, and `Debug` never shows it: it must only travel from
/// `beginUpstream`'s encrypted storage to the token request.
#[derive(Serialize)]
#[serde(transparent)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// A verifier from 32 random bytes: 43 characters of base64url, the minimum length
    /// RFC 7636 §4.1 allows and 256 bits of entropy (RFC 7636 §7.1).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        CodeVerifier(Base64UrlUnpadded::encode_string(&bytes))
    }

    /// A verifier read back from where this worker stored it (the library's encrypted sign-in
    /// data, a sealed cookie): it was made by [`CodeVerifier::from_random`].
    pub fn from_stored(verifier: String) -> Self {
        CodeVerifier(verifier)
    }

    /// The verifier, for the one token request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// The S256 challenge for a verifier's SHA-256 digest: `BASE64URL(SHA256(verifier))`
/// (RFC 7636 §4.2). `plain` is never used (OAuth 2.1 §4.1.1, RFC 9700 §2.1.1).
pub fn s256_challenge(verifier_digest: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(verifier_digest)
}

/// A `nonce` from 16 random bytes, bound to the ID token (OIDC Core §3.1.2.1, §15.5.2).
pub fn nonce_from_random(bytes: [u8; 16]) -> String {
    Base64UrlUnpadded::encode_string(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        // RFC 7636 Appendix B: these 32 octets give this verifier, whose SHA-256 gives this challenge.
        let bytes = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = CodeVerifier::from_random(bytes);
        assert_eq!(
            verifier.expose(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        let digest = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120,
            173, 109, 241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195,
        ];
        assert_eq!(
            s256_challenge(&digest),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_is_43_chars_and_redacted() {
        let verifier = CodeVerifier::from_random([7; 32]);
        assert_eq!(verifier.expose().len(), 43);
        assert!(!format!("{verifier:?}").contains(verifier.expose()));
        assert_eq!(nonce_from_random([1; 16]).len(), 22);
    }
}
