//! Secrets at rest. SigV4 needs the secret access key itself to recompute a signature, so it
//! cannot be hashed; it is sealed with ChaCha20-Poly1305 under a 256-bit key kept in its own
//! file (`access.key`, mode 0600) beside the database, the key id as associated data so a
//! sealed secret cannot be moved to another key's record. API keys and the admin key are only
//! ever compared, so they are stored as SHA-256 hashes (they are 256 random bits: no salt or
//! slow hash is needed against guessing).

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::AccessError;

/// The sealing key.
pub(crate) struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// Reads the key file, making it (readable by its owner only) when there is none.
    pub(crate) fn open(path: &Path) -> Result<Self, AccessError> {
        let random = SystemRandom::new();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random_bytes::<32>(&random)?.to_vec();
                write_private(path, &bytes)?;
                bytes
            }
            Err(e) => {
                return Err(AccessError::Seal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| {
            AccessError::Seal(format!("{} does not hold a 32-byte key", path.display()))
        })?;
        Ok(Self {
            key: LessSafeKey::new(key),
            random,
        })
    }

    /// `nonce || ciphertext || tag`, base64.
    pub(crate) fn seal(&self, plaintext: &str, bound_to: &str) -> Result<String, AccessError> {
        let nonce = random_bytes::<NONCE_LEN>(&self.random)?;
        let mut data = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to.as_bytes()),
                &mut data,
            )
            .map_err(|_| AccessError::Seal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub(crate) fn open_sealed(&self, sealed: &str, bound_to: &str) -> Result<String, AccessError> {
        let broken = || AccessError::Seal(format!("the sealed secret of {bound_to} does not open"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| broken())?;
        if bytes.len() < NONCE_LEN {
            return Err(broken());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| broken())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(bound_to.as_bytes()), &mut data)
            .map_err(|_| broken())?;
        String::from_utf8(plain.to_vec()).map_err(|_| broken())
    }

    pub(crate) fn random(&self) -> &SystemRandom {
        &self.random
    }
}

pub(crate) fn random_bytes<const N: usize>(random: &SystemRandom) -> Result<[u8; N], AccessError> {
    let mut bytes = [0u8; N];
    random
        .fill(&mut bytes)
        .map_err(|_| AccessError::Seal("the system random source failed".into()))?;
    Ok(bytes)
}

/// Hex SHA-256, how API keys and the admin key are kept.
pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AccessError> {
    let fail =
        |e: std::io::Error| AccessError::Seal(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // Written whole under a temporary name first, so a crash never leaves a short key file
    // that would make every sealed secret unreadable.
    let temporary = path.with_extension("key.partial");
    let _ = std::fs::remove_file(&temporary);
    let mut file = options.open(&temporary).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_binding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.key");
        let sealer = Sealer::open(&path).unwrap();
        let sealed = sealer.seal("wJalrXUtnFEMI/K7MDENG", "AKIA1").unwrap();
        assert!(!sealed.contains("wJalr"));
        assert_eq!(
            sealer.open_sealed(&sealed, "AKIA1").unwrap(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        assert!(sealer.open_sealed(&sealed, "AKIA2").is_err());
        // The same file gives the same key; another file another key.
        let again = Sealer::open(&path).unwrap();
        assert!(again.open_sealed(&sealed, "AKIA1").is_ok());
        let other = Sealer::open(&dir.path().join("other.key")).unwrap();
        assert!(other.open_sealed(&sealed, "AKIA1").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is private: {mode:o}");
        }
    }
}
