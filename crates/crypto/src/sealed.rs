//! The sealed form of a secret map and the associated data that binds it to its row.
//!
//! [`Sealed::to_bytes`] is what persistence stores. The layout is self-describing, so a reader
//! knows which key to use and a future format can be told apart by its first byte:
//!
//! ```text
//! [format version u8 = 1][key id length u8][key id][nonce, 12 bytes][ciphertext + 16-byte tag]
//! ```

use std::fmt;

use ring::aead::NONCE_LEN;

use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};

use crate::error::CryptoError;
use crate::key_ring::KeyId;

/// The only format version this build writes and reads.
const FORMAT_VERSION: u8 = 1;

/// Length of the AES-256-GCM authentication tag at the end of the ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// Starts the AEAD associated data, so that no other use of a master key can produce associated
/// data that collides with ours.
const AAD_CONTEXT: &[u8] = b"credvault sealed secrets";

/// Starts the associated data of an OAuth app's client secret instead of [`AAD_CONTEXT`], so a
/// ciphertext sealed for an app never opens as a credential's (whatever its ids), nor the other
/// way round. Neither context is a prefix of the other.
const OAUTH_APP_AAD_CONTEXT: &[u8] = b"credvault sealed oauth app secrets";

/// Starts the associated data of a pending OAuth connect's PKCE verifier, so that it never opens
/// as a credential's or an app's secrets, nor they as it.
const CONNECT_AAD_CONTEXT: &[u8] = b"credvault sealed oauth connect verifier";

/// Whose secrets a ciphertext holds: the team and the credential (or the OAuth app).
///
/// Sealing and opening must use the same `Aad`, so a ciphertext copied into another
/// credential's row, or into another team, or between a credential and an OAuth app, does not
/// open.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Aad {
    team_id: TeamId,
    subject: Subject,
}

/// The row a ciphertext belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Subject {
    Credential(CredentialId),
    OAuthApp(OAuthAppId),
    Connect(CredentialId),
}

impl Aad {
    /// The associated data for the secrets of `credential_id`, owned by `team_id`.
    pub fn new(team_id: TeamId, credential_id: CredentialId) -> Aad {
        Aad {
            team_id,
            subject: Subject::Credential(credential_id),
        }
    }

    /// The associated data for the client secret of OAuth app `app_id`, owned by `team_id`;
    /// it starts with a context of its own, so it never equals a credential's.
    ///
    /// ```
    /// use credvault_crypto::Aad;
    /// use credvault_domain::ids::{CredentialId, OAuthAppId, TeamId};
    ///
    /// let (team, id) = (TeamId::new(), OAuthAppId::new());
    /// let app = Aad::for_oauth_app(team, id);
    /// assert_ne!(app, Aad::new(team, CredentialId::from_uuid(*id.as_uuid())));
    /// assert_eq!(app.credential_id(), None);
    /// ```
    pub fn for_oauth_app(team_id: TeamId, app_id: OAuthAppId) -> Aad {
        Aad {
            team_id,
            subject: Subject::OAuthApp(app_id),
        }
    }

    /// The associated data for the PKCE verifier of a pending OAuth connect of `credential_id`,
    /// owned by `team_id`; it starts with a context of its own, so it never equals a
    /// credential's or an app's.
    ///
    /// ```
    /// use credvault_crypto::Aad;
    /// use credvault_domain::ids::{CredentialId, TeamId};
    ///
    /// let (team, id) = (TeamId::new(), CredentialId::new());
    /// assert_ne!(Aad::for_connect(team, id), Aad::new(team, id));
    /// assert_eq!(Aad::for_connect(team, id).credential_id(), None);
    /// ```
    pub fn for_connect(team_id: TeamId, credential_id: CredentialId) -> Aad {
        Aad {
            team_id,
            subject: Subject::Connect(credential_id),
        }
    }

    /// The team that owns the credential or app.
    pub fn team_id(&self) -> TeamId {
        self.team_id
    }

    /// The credential whose secrets are sealed; `None` for an OAuth app's, and for a connect's
    /// verifier.
    pub fn credential_id(&self) -> Option<CredentialId> {
        match self.subject {
            Subject::Credential(id) => Some(id),
            Subject::OAuthApp(_) | Subject::Connect(_) => None,
        }
    }

    /// The bytes authenticated alongside the ciphertext.
    ///
    /// Besides both ids they include the header of [`Sealed::to_bytes`] (format version and
    /// key id), so those unencrypted bytes are authenticated too.
    pub(crate) fn associated_data(&self, key_id: &KeyId) -> Vec<u8> {
        let (context, subject) = match self.subject {
            Subject::Credential(id) => (AAD_CONTEXT, *id.as_uuid()),
            Subject::OAuthApp(id) => (OAUTH_APP_AAD_CONTEXT, *id.as_uuid()),
            Subject::Connect(id) => (CONNECT_AAD_CONTEXT, *id.as_uuid()),
        };
        let mut associated_data =
            Vec::with_capacity(context.len() + 2 + key_id.as_str().len() + 32);
        associated_data.extend_from_slice(context);
        write_header(&mut associated_data, key_id);
        associated_data.extend_from_slice(self.team_id.as_uuid().as_bytes());
        associated_data.extend_from_slice(subject.as_bytes());
        associated_data
    }
}

/// A secret map encrypted with one master key, with the id of that key.
///
/// Made by [`KeyRing::seal`](crate::KeyRing::seal) or read back with [`Sealed::from_bytes`].
/// `Debug` shows the key id and the encoded length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    key_id: KeyId,
    nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the tag; always at least [`TAG_LEN`] bytes.
    ciphertext: Vec<u8>,
}

impl Sealed {
    pub(crate) fn from_parts(key_id: KeyId, nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Sealed {
        Sealed {
            key_id,
            nonce,
            ciphertext,
        }
    }

    /// The id of the master key that opens this value.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    pub(crate) fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// Encodes the value for storage in the layout described in the [module docs](self).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.encoded_len());
        write_header(&mut bytes, &self.key_id);
        bytes.extend_from_slice(&self.nonce);
        bytes.extend_from_slice(&self.ciphertext);
        bytes
    }

    /// Decodes what [`Sealed::to_bytes`] wrote.
    ///
    /// Checks the version, the key id and every length; it returns an error, never panics, on
    /// any input. Whether the bytes were tampered with is only known when they are opened.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed, CryptoError> {
        let (&version, rest) = bytes
            .split_first()
            .ok_or(CryptoError::MalformedCiphertext("sealed secrets are empty"))?;
        if version != FORMAT_VERSION {
            return Err(CryptoError::UnsupportedFormatVersion(version));
        }
        let (&key_id_len, rest) = rest.split_first().ok_or(CryptoError::MalformedCiphertext(
            "sealed secrets end before the key id length",
        ))?;
        let (key_id, rest) = rest.split_at_checked(usize::from(key_id_len)).ok_or(
            CryptoError::MalformedCiphertext("sealed secrets end inside the key id"),
        )?;
        let key_id = KeyId::from_ascii(key_id).ok_or(CryptoError::MalformedCiphertext(
            "sealed secrets hold an invalid key id",
        ))?;
        let (nonce, ciphertext) =
            rest.split_first_chunk::<NONCE_LEN>()
                .ok_or(CryptoError::MalformedCiphertext(
                    "sealed secrets end inside the nonce",
                ))?;
        if ciphertext.len() < TAG_LEN {
            return Err(CryptoError::MalformedCiphertext(
                "sealed secrets are shorter than the authentication tag",
            ));
        }
        Ok(Sealed::from_parts(key_id, *nonce, ciphertext.to_vec()))
    }

    fn encoded_len(&self) -> usize {
        2 + self.key_id.as_str().len() + NONCE_LEN + self.ciphertext.len()
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id.as_str())
            .field("len", &self.encoded_len())
            .finish()
    }
}

/// Writes the format version and the length-prefixed key id.
fn write_header(out: &mut Vec<u8>, key_id: &KeyId) {
    let key_id = key_id.as_str().as_bytes();
    out.push(FORMAT_VERSION);
    // A `KeyId` is at most 32 bytes (checked whenever one is made), so the length fits a u8.
    out.push(key_id.len() as u8);
    out.extend_from_slice(key_id);
}
