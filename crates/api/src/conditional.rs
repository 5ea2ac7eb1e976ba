//! Conditional requests: the `If-Match` header (RFC 9110 §13.1.1).
//!
//! A resource's entity tag is its version, quoted: `ETag: "3"`. `If-Match` holds `*` or a
//! comma-separated list of entity tags, and matches when any listed tag matches the current one
//! by the **strong comparison** (§8.8.3.2): both strong and the same characters. So a weak tag
//! (`W/"3"`) never matches, and `"03"` is not `"3"`. `*` matches any existing resource.
//! A header that is not of this form is `400`; one that does not match is `412`, decided only
//! after the team-scoped read, so it tells nothing about resources of other teams.

use actix_web::http::header::{self, HeaderMap};
use credvault_domain::ids::{CredentialId, TeamId};

use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::blocking;

/// A parsed `If-Match` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: the request is unconditional.
    Absent,
    /// `*`: any current representation.
    Any,
    /// A list of entity tags, at least one.
    Tags(Vec<EntityTag>),
}

/// One entity tag of an `If-Match` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityTag {
    /// `W/` was given: a weak tag, which never matches by the strong comparison.
    pub weak: bool,
    /// The characters between the quotes.
    pub opaque: String,
}

impl IfMatch {
    /// Parses every `If-Match` header of a request (several headers form one list).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut values = headers.get_all(header::IF_MATCH).peekable();
        if values.peek().is_none() {
            return Ok(Self::Absent);
        }
        let mut texts = Vec::new();
        for value in values {
            texts.push(value.to_str().map_err(|_| malformed())?.to_owned());
        }
        Self::parse(&texts.join(","))
    }

    /// Parses the field value `*` or `#entity-tag`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        if text.trim() == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (tag, after) = entity_tag(rest).ok_or_else(malformed)?;
            tags.push(tag);
            rest = after.trim_start_matches([' ', '\t']);
            if !rest.is_empty() && !rest.starts_with(',') {
                return Err(malformed());
            }
        }
        if tags.is_empty() {
            return Err(malformed());
        }
        Ok(Self::Tags(tags))
    }

    /// Whether a resource at `version` satisfies the condition.
    pub fn matches(&self, version: i64) -> bool {
        match self {
            Self::Absent | Self::Any => true,
            Self::Tags(tags) => {
                let current = version.to_string();
                tags.iter().any(|tag| !tag.weak && tag.opaque == current)
            }
        }
    }

    /// The versions a strong tag of the list names (tags that are not a version are left out).
    fn strong_versions(&self) -> Vec<i64> {
        let Self::Tags(tags) = self else {
            return Vec::new();
        };
        tags.iter()
            .filter(|tag| !tag.weak)
            .filter_map(|tag| {
                let version = tag.opaque.parse::<i64>().ok()?;
                (version > 0 && version.to_string() == tag.opaque).then_some(version)
            })
            .collect()
    }

    /// The `expected_version` for `Store::update_credential` that enforces this condition: `None`
    /// for no condition or `*` (the store answers `404` for a credential that does not exist),
    /// the version a single matching tag names, or `0` (which no credential has) when nothing in
    /// the list can match, so that the store answers `412` naming the current version.
    ///
    /// A list naming several versions is resolved against the current version, read within the
    /// team first; the update then applies only if that version is still current, so a write
    /// in between is a `412` even if the new version is in the list too: never a lost update.
    pub async fn expected_version(
        &self,
        state: &AppState,
        team_id: TeamId,
        credential_id: CredentialId,
    ) -> Result<Option<i64>, ApiError> {
        let versions = match self {
            Self::Absent | Self::Any => return Ok(None),
            Self::Tags(_) => self.strong_versions(),
        };
        match versions.as_slice() {
            [] => Ok(Some(NO_VERSION)),
            [version] => Ok(Some(*version)),
            _ => {
                let store = state.store.clone();
                let stored =
                    blocking(move || store.find_credential(team_id, credential_id)).await?;
                let current = stored.map(|stored| stored.credential.version);
                Ok(Some(
                    current
                        .filter(|current| self.matches(*current))
                        .unwrap_or(NO_VERSION),
                ))
            }
        }
    }
}

/// A version no credential has (versions start at 1).
const NO_VERSION: i64 = 0;

fn malformed() -> ApiError {
    ApiError::BadRequest(
        "the If-Match header must be * or a list of quoted entity tags such as \"3\" \
         (the ETag of the resource)"
            .to_owned(),
    )
}

/// One `entity-tag` at the start of `text` and what follows it.
fn entity_tag(text: &str) -> Option<(EntityTag, &str)> {
    let (weak, quoted) = match text.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let inner = quoted.strip_prefix('"')?;
    let end = inner.find('"')?;
    let opaque = &inner[..end];
    // etagc = %x21 / %x23-7E / obs-text: no space, no control character, no quote.
    if !opaque
        .bytes()
        .all(|byte| byte == 0x21 || (0x23..=0x7e).contains(&byte) || byte >= 0x80)
    {
        return None;
    }
    Some((
        EntityTag {
            weak,
            opaque: opaque.to_owned(),
        },
        &inner[end + 1..],
    ))
}

#[cfg(test)]
mod tests;
