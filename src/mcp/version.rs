//! MCP protocol revisions this server speaks, and what each one changes for it.
//!
//! Negotiation: in `initialize` (MCP 2025-11-25 basic/lifecycle §Version Negotiation: the same
//! version if supported, else the latest the server supports); on Streamable HTTP every later
//! request names its version in the `MCP-Protocol-Version` header (MCP 2025-06-18
//! basic/transports §Protocol Version Header, absent = 2025-03-26); in 2026-07-28 every request
//! names it in `params._meta` (MCP 2026-07-28 basic/versioning).

/// A supported protocol revision, ordered by date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// HTTP+SSE transport, no batches, no structured output.
    V2024_11_05,
    /// Streamable HTTP, batches, tool annotations.
    V2025_03_26,
    /// `MCP-Protocol-Version` header, structured output; batches removed.
    V2025_06_18,
    /// Step-up authorization (`insufficient_scope` with `scope`).
    V2025_11_25,
    /// Stateless: per-request `_meta`, `server/discover`, `resultType`.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every supported version, newest first (the order `supported` lists use).
    pub const ALL: [Self; 5] = [
        Self::V2026_07_28,
        Self::V2025_11_25,
        Self::V2025_06_18,
        Self::V2025_03_26,
        Self::V2024_11_05,
    ];

    /// The newest supported version.
    pub const LATEST: Self = Self::V2026_07_28;

    /// What a Streamable HTTP request without `MCP-Protocol-Version` is taken to speak
    /// (MCP 2025-06-18 basic/transports §Protocol Version Header).
    pub const HTTP_DEFAULT: Self = Self::V2025_03_26;

    /// The version string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a supported version string; `None` for any other.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|version| version.as_str() == text)
    }

    /// The answer to `initialize`: the requested version when supported, else the latest.
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }

    /// The supported version strings, newest first.
    pub fn supported_strings() -> Vec<&'static str> {
        Self::ALL.iter().map(|version| version.as_str()).collect()
    }

    /// JSON-RPC batches: added in 2025-03-26, removed in 2025-06-18 (MCP 2025-06-18 changelog §1).
    pub fn allows_batches(self) -> bool {
        self == Self::V2025_03_26
    }

    /// Tool annotations (MCP 2025-03-26 server/tools).
    pub fn has_tool_annotations(self) -> bool {
        self >= Self::V2025_03_26
    }

    /// `title`, `outputSchema`, `structuredContent` and `_meta` on tools (MCP 2025-06-18 changelog §2, §"Other schema changes").
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }

    /// Runtime insufficient-scope challenge, HTTP 403 with `scope` (MCP 2025-11-25
    /// basic/authorization §Scope Challenge Handling).
    pub fn has_step_up(self) -> bool {
        self >= Self::V2025_11_25
    }

    /// Per-request `_meta` versioning, `resultType`, cacheable lists, `server/discover`
    /// (MCP 2026-07-28 changelog §2, §3, §8, minor §5).
    pub fn is_modern(self) -> bool {
        self >= Self::V2026_07_28
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolVersion as V;

    #[test]
    fn every_supported_version_negotiates_to_itself() {
        for version in V::ALL {
            assert_eq!(V::negotiate(version.as_str()), version);
        }
    }

    #[test]
    fn unknown_version_negotiates_to_the_latest() {
        assert_eq!(V::negotiate("1999-01-01"), V::LATEST);
        assert_eq!(V::negotiate("2024-10-07"), V::LATEST);
    }

    #[test]
    fn batches_only_in_2025_03_26() {
        let allowing: Vec<_> = V::ALL.into_iter().filter(|v| v.allows_batches()).collect();
        assert_eq!(allowing, [V::V2025_03_26]);
    }

    #[test]
    fn features_follow_the_revisions() {
        assert!(!V::V2025_03_26.has_structured_output());
        assert!(V::V2025_06_18.has_structured_output());
        assert!(!V::V2025_06_18.has_step_up());
        assert!(V::V2025_11_25.has_step_up());
        assert!(V::V2026_07_28.is_modern() && !V::V2025_11_25.is_modern());
    }
}
