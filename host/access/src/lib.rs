//! # mantle-access
//!
//! Who may call Mantle, with no HTTP in it: operators' keys (an access key id and secret for
//! SigV4, with an optional session token, and a Bedrock API key for `Authorization: Bearer`),
//! the admin key, request authentication and IAM-style authorization.
//!
//! Keys are records in sled; secrets are sealed at rest (see `seal`), API keys and the admin
//! key hashed; every secret is shown once, when it is made. Lookups on the request path read
//! an in-memory index swapped whole on each change, so authenticating takes no lock and no
//! disk read.
//!
//! ```
//! use mantle_access::{Access, CreateKeyInput, KeyStatus};
//! let dir = tempfile::tempdir()?;
//! let scope = mantle_store::ArnScope { region: "us-east-1".into(), account: "123456789012".into() };
//! let access = Access::open(mantle_store::Store::temporary()?, &dir.path().join("access.key"), scope)?;
//! let key = access.create_key(CreateKeyInput::named("ci"))?;
//! assert!(key.access_key_id.starts_with("AKIA") && key.api_key.starts_with("ABSK"));
//! let principal = access.authenticate_bearer(&key.api_key)?;
//! assert_eq!(principal.arn, "arn:aws:iam::123456789012:user/ci");
//! principal.authorize("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m")?;
//! access.set_status("ci", KeyStatus::Inactive)?;
//! assert!(access.authenticate_bearer(&key.api_key).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod policy;
mod seal;
mod sigv4;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use base64::Engine as _;
use mantle_store::{ArnScope, Store, Table};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub use error::AccessError;
pub use policy::{Decision, Effect, OneOrMany, PolicyDocument, Statement};
pub use sigv4::{CLOCK_SKEW, ClientCredentials, SERVICE, SignedRequest, sign_request};

use seal::{Sealer, hash, random_bytes};

/// Whether a key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// A key as stored: nothing in it is usable without the sealing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyRecord {
    name: String,
    access_key_id: String,
    sealed_secret: String,
    api_key_hash: String,
    session_token_hash: Option<String>,
    status: KeyStatus,
    policies: Vec<PolicyDocument>,
    created_at: String,
    updated_at: String,
}

impl mantle_store::Record for KeyRecord {
    const TREE: &'static str = "access_keys";
    const SCHEMA_VERSION: u32 = 1;
}

/// The admin key's hash, under one record key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminRecord {
    key_hash: String,
    created_at: String,
}

impl mantle_store::Record for AdminRecord {
    const TREE: &'static str = "access_admin";
    const SCHEMA_VERSION: u32 = 1;
}

const ADMIN: &str = "admin";

/// CreateKey's input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyInput {
    pub name: String,
    /// The key's policies; without any it gets [`PolicyDocument::full_access`].
    #[serde(default)]
    pub policies: Option<Vec<PolicyDocument>>,
    /// Also issue a session token, which every request signed with the key must then carry.
    #[serde(default)]
    pub session_token: bool,
}

impl CreateKeyInput {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A key with its secrets: answered once, by create and rotate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    pub api_key: String,
    pub status: KeyStatus,
    pub policies: Vec<PolicyDocument>,
    pub created_at: String,
}

/// A key without its secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    pub name: String,
    pub access_key_id: String,
    pub status: KeyStatus,
    pub has_session_token: bool,
    pub policies: Vec<PolicyDocument>,
    pub created_at: String,
    pub updated_at: String,
}

/// Who a request comes from, and what they may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The key's name (`admin` for the admin key).
    pub name: String,
    /// `arn:aws:iam::{account}:user/{name}`, as AWS names a caller in its errors.
    pub arn: String,
    /// The admin key: every operation, the admin API included.
    pub admin: bool,
    policies: Vec<PolicyDocument>,
}

impl Principal {
    /// Whether this principal may do `action` on `resource`; the error is AWS's
    /// AccessDeniedException message naming both.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), AccessError> {
        if self.admin {
            return Ok(());
        }
        let mut allowed = false;
        for policy in &self.policies {
            match policy.decide(action, resource) {
                Decision::Deny => {
                    return Err(AccessError::AccessDenied(format!(
                        "User: {} is not authorized to perform: {action} on resource: {resource} with an explicit deny in an identity-based policy",
                        self.arn
                    )));
                }
                Decision::Allow => allowed = true,
                Decision::NotAllowed => {}
            }
        }
        if allowed {
            Ok(())
        } else {
            Err(AccessError::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action",
                self.arn
            )))
        }
    }

    /// Refuses anyone but the admin key, for Mantle's admin API.
    pub fn require_admin(&self, operation: &str) -> Result<(), AccessError> {
        if self.admin {
            Ok(())
        } else {
            Err(AccessError::AccessDenied(format!(
                "User: {} is not authorized to perform: mantle:{operation}: the admin API needs the admin key",
                self.arn
            )))
        }
    }
}

/// What the request path reads: every usable key, by access key id and by API key hash.
#[derive(Debug, Default)]
struct Index {
    by_key_id: HashMap<String, Arc<SigningKey>>,
    by_api_key: HashMap<String, Arc<Principal>>,
    admin_hash: Option<String>,
}

#[derive(Debug)]
struct SigningKey {
    principal: Arc<Principal>,
    secret: String,
    session_token_hash: Option<String>,
}

/// The access service.
#[derive(Debug, Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    keys: Table<KeyRecord>,
    admin: Table<AdminRecord>,
    sealer: Sealer,
    scope: ArnScope,
    index: ArcSwap<Index>,
    /// Serialises changes, so each rebuilds the index from a settled table.
    writes: std::sync::Mutex<()>,
}

impl Access {
    /// Opens the keys in `store`, sealing secrets with the key in `key_file` (made on first
    /// use).
    pub fn open(store: Store, key_file: &Path, scope: ArnScope) -> Result<Self, AccessError> {
        let access = Self {
            inner: Arc::new(Inner {
                keys: store.table()?,
                admin: store.table()?,
                sealer: Sealer::open(key_file)?,
                store,
                scope,
                index: ArcSwap::default(),
                writes: std::sync::Mutex::new(()),
            }),
        };
        access.reindex()?;
        Ok(access)
    }

    /// CreateKey: a new key; its secrets are in the answer and nowhere else.
    pub fn create_key(&self, input: CreateKeyInput) -> Result<CreatedKey, AccessError> {
        check_name(&input.name)?;
        let policies = match input.policies {
            Some(policies) => {
                for policy in &policies {
                    policy.check()?;
                }
                policies
            }
            None => vec![PolicyDocument::full_access()],
        };
        let _guard = self.lock();
        if self.inner.keys.get(&input.name)?.is_some() {
            return Err(AccessError::Conflict(format!(
                "A key named {} already exists.",
                input.name
            )));
        }
        let now = mantle_store::now_rfc3339();
        let (record, created) =
            self.mint(&input.name, policies, input.session_token, now.clone(), now)?;
        if !self.inner.keys.insert_new(&input.name, &record)? {
            return Err(AccessError::Conflict(format!(
                "A key named {} already exists.",
                input.name
            )));
        }
        self.inner.store.flush()?;
        self.reindex()?;
        tracing::info!(key = %input.name, access_key_id = %created.access_key_id, "access key created");
        Ok(created)
    }

    /// RotateKey: new secrets (and access key id) for `name`; the old ones stop working now.
    pub fn rotate_key(&self, name: &str) -> Result<CreatedKey, AccessError> {
        let _guard = self.lock();
        let old = self.find(name)?;
        let (mut record, mut created) = self.mint(
            name,
            old.policies,
            old.session_token_hash.is_some(),
            old.created_at,
            mantle_store::now_rfc3339(),
        )?;
        record.status = old.status;
        created.status = old.status;
        self.inner.keys.put(name, &record)?;
        self.inner.store.flush()?;
        self.reindex()?;
        tracing::info!(key = %name, access_key_id = %created.access_key_id, "access key rotated");
        Ok(created)
    }

    pub fn list_keys(&self) -> Result<Vec<KeySummary>, AccessError> {
        Ok(self
            .inner
            .keys
            .all()?
            .into_iter()
            .map(|(_, r)| summary(r))
            .collect())
    }

    pub fn get_key(&self, name: &str) -> Result<KeySummary, AccessError> {
        Ok(summary(self.find(name)?))
    }

    /// Enables or disables a key; a disabled key authenticates nothing.
    pub fn set_status(&self, name: &str, status: KeyStatus) -> Result<KeySummary, AccessError> {
        self.change(name, |record| record.status = status)
    }

    /// Replaces a key's policies.
    pub fn set_policies(
        &self,
        name: &str,
        policies: Vec<PolicyDocument>,
    ) -> Result<KeySummary, AccessError> {
        for policy in &policies {
            policy.check()?;
        }
        self.change(name, |record| record.policies = policies)
    }

    pub fn delete_key(&self, name: &str) -> Result<(), AccessError> {
        let _guard = self.lock();
        self.inner
            .keys
            .delete(name)?
            .ok_or_else(|| not_found(name))?;
        self.inner.store.flush()?;
        self.reindex()?;
        tracing::info!(key = %name, "access key deleted");
        Ok(())
    }

    /// Sets the admin key (from the operator's `MANTLE_ADMIN_KEY`).
    pub fn set_admin_key(&self, key: &str) -> Result<(), AccessError> {
        if key.len() < 16 {
            return Err(AccessError::invalid(
                "MANTLE_ADMIN_KEY",
                "the admin key must be at least 16 characters",
            ));
        }
        let _guard = self.lock();
        self.inner.admin.put(
            ADMIN,
            &AdminRecord {
                key_hash: hash(key),
                created_at: mantle_store::now_rfc3339(),
            },
        )?;
        self.inner.store.flush()?;
        self.reindex()
    }

    /// Whether an admin key is set.
    pub fn has_admin_key(&self) -> bool {
        self.inner.index.load().admin_hash.is_some()
    }

    /// Makes an admin key when there is none, answering it (to be shown once); `None` when one
    /// was already set.
    pub fn ensure_admin_key(&self) -> Result<Option<String>, AccessError> {
        if self.has_admin_key() {
            return Ok(None);
        }
        let key = format!(
            "mantle-admin-{}",
            hex::encode(random_bytes::<24>(self.inner.sealer.random())?)
        );
        self.set_admin_key(&key)?;
        Ok(Some(key))
    }

    /// Authenticates a request by its `Authorization` header: SigV4 or a bearer API key (or
    /// the admin key), at `now`.
    pub fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        now: SystemTime,
    ) -> Result<Arc<Principal>, AccessError> {
        let header = request
            .headers
            .get(http::header::AUTHORIZATION)
            .ok_or(AccessError::MissingAuthentication)?
            .to_str()
            .map_err(|_| AccessError::MissingAuthentication)?;
        if let Some(token) = header.strip_prefix("Bearer ") {
            return self.authenticate_bearer(token.trim());
        }
        let Some(auth) = sigv4::Authorization::parse(header) else {
            return Err(AccessError::IncompleteSignature(
                "Authorization header must be AWS4-HMAC-SHA256 (SigV4) or Bearer (an API key)."
                    .into(),
            ));
        };
        let auth = auth?;
        let (date, signed_at) = sigv4::signing_time(request.headers)?;
        sigv4::check_scope(&auth, &date, signed_at, now, &self.inner.scope.region)?;
        let index = self.inner.index.load();
        let key = index
            .by_key_id
            .get(auth.key_id)
            .ok_or_else(AccessError::unknown_key)?;
        let token = request
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok());
        match (&key.session_token_hash, token) {
            (None, None) => {}
            (Some(expected), Some(token))
                if bool::from(hash(token).as_bytes().ct_eq(expected.as_bytes())) => {}
            _ => return Err(AccessError::unknown_key()),
        }
        sigv4::check_signature(&auth, request, &key.secret, token, signed_at)?;
        Ok(key.principal.clone())
    }

    /// Authenticates a bearer token: an API key, or the admin key.
    pub fn authenticate_bearer(&self, token: &str) -> Result<Arc<Principal>, AccessError> {
        let hashed = hash(token);
        let index = self.inner.index.load();
        if let Some(admin) = &index.admin_hash
            && bool::from(hashed.as_bytes().ct_eq(admin.as_bytes()))
        {
            return Ok(Arc::new(Principal {
                name: ADMIN.into(),
                arn: format!("arn:aws:iam::{}:root", self.inner.scope.account),
                admin: true,
                policies: Vec::new(),
            }));
        }
        // The map lookup is by hash, so its timing says nothing about the key itself.
        index.by_api_key.get(&hashed).cloned().ok_or_else(|| {
            AccessError::UnrecognizedClient(
                "The API key included in the request is invalid.".into(),
            )
        })
    }

    fn mint(
        &self,
        name: &str,
        policies: Vec<PolicyDocument>,
        with_session_token: bool,
        created_at: String,
        updated_at: String,
    ) -> Result<(KeyRecord, CreatedKey), AccessError> {
        let random = self.inner.sealer.random();
        const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let access_key_id = format!(
            "AKIA{}",
            random_bytes::<16>(random)?
                .iter()
                .map(|b| BASE32[*b as usize % BASE32.len()] as char)
                .collect::<String>()
        );
        let secret = base64::engine::general_purpose::STANDARD.encode(random_bytes::<30>(random)?);
        let api_key = format!(
            "ABSK{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>(random)?)
        );
        let session_token = if with_session_token {
            Some(base64::engine::general_purpose::STANDARD.encode(random_bytes::<48>(random)?))
        } else {
            None
        };
        let record = KeyRecord {
            name: name.to_owned(),
            sealed_secret: self.inner.sealer.seal(&secret, &access_key_id)?,
            access_key_id: access_key_id.clone(),
            api_key_hash: hash(&api_key),
            session_token_hash: session_token.as_deref().map(hash),
            status: KeyStatus::Active,
            policies: policies.clone(),
            created_at: created_at.clone(),
            updated_at,
        };
        let created = CreatedKey {
            name: name.to_owned(),
            access_key_id,
            secret_access_key: secret,
            session_token,
            api_key,
            status: KeyStatus::Active,
            policies,
            created_at,
        };
        Ok((record, created))
    }

    fn change(
        &self,
        name: &str,
        apply: impl FnOnce(&mut KeyRecord),
    ) -> Result<KeySummary, AccessError> {
        let _guard = self.lock();
        let mut record = self.find(name)?;
        apply(&mut record);
        record.updated_at = mantle_store::now_rfc3339();
        self.inner.keys.put(name, &record)?;
        self.inner.store.flush()?;
        self.reindex()?;
        Ok(summary(record))
    }

    fn find(&self, name: &str) -> Result<KeyRecord, AccessError> {
        self.inner.keys.get(name)?.ok_or_else(|| not_found(name))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rebuilds the request path's index from the table.
    fn reindex(&self) -> Result<(), AccessError> {
        let mut index = Index {
            admin_hash: self.inner.admin.get(ADMIN)?.map(|a| a.key_hash),
            ..Index::default()
        };
        for (_, record) in self.inner.keys.all()? {
            if record.status != KeyStatus::Active {
                continue;
            }
            let principal = Arc::new(Principal {
                arn: format!(
                    "arn:aws:iam::{}:user/{}",
                    self.inner.scope.account, record.name
                ),
                name: record.name.clone(),
                admin: false,
                policies: record.policies.clone(),
            });
            let secret = self
                .inner
                .sealer
                .open_sealed(&record.sealed_secret, &record.access_key_id)?;
            index
                .by_api_key
                .insert(record.api_key_hash.clone(), principal.clone());
            index.by_key_id.insert(
                record.access_key_id.clone(),
                Arc::new(SigningKey {
                    principal,
                    secret,
                    session_token_hash: record.session_token_hash.clone(),
                }),
            );
        }
        self.inner.index.store(Arc::new(index));
        Ok(())
    }
}

fn summary(record: KeyRecord) -> KeySummary {
    KeySummary {
        name: record.name,
        access_key_id: record.access_key_id,
        status: record.status,
        has_session_token: record.session_token_hash.is_some(),
        policies: record.policies,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

fn not_found(name: &str) -> AccessError {
    AccessError::NotFound(format!("No key named {name} exists."))
}

/// IAM's user-name rule: 1 to 64 of `[A-Za-z0-9+=,.@_-]`.
fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccessError::invalid(
            "name",
            "Member must have length between 1 and 64 and satisfy regular expression pattern: [\\w+=,.@-]+",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, store: Store) -> Access {
        let scope = ArnScope {
            region: "us-east-1".into(),
            account: "123456789012".into(),
        };
        Access::open(store, &dir.join("access.key"), scope).unwrap()
    }

    fn verify(
        access: &Access,
        request: &http::Request<Vec<u8>>,
    ) -> Result<Arc<Principal>, AccessError> {
        access.authenticate(
            &SignedRequest {
                method: request.method(),
                uri: request.uri(),
                headers: request.headers(),
                body: request.body(),
            },
            SystemTime::now(),
        )
    }

    #[test]
    fn keys_authenticate_until_disabled_rotated_or_deleted_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let access = open(dir.path(), store.clone());
        let key = access.create_key(CreateKeyInput::named("alice")).unwrap();
        let signed = |key: &CreatedKey| {
            sigv4::tests::signed(
                ClientCredentials::new(&key.access_key_id, &key.secret_access_key, None),
                "us-east-1",
                SystemTime::now(),
                "GET",
                "/guardrails",
                b"",
            )
        };
        assert_eq!(verify(&access, &signed(&key)).unwrap().name, "alice");
        assert!(matches!(
            access.create_key(CreateKeyInput::named("alice")),
            Err(AccessError::Conflict(_))
        ));

        // The record holds no secret in the clear.
        let raw: Vec<u8> = store
            .tree("access_keys")
            .unwrap()
            .iter()
            .flat_map(|kv| kv.unwrap().1.to_vec())
            .collect();
        let raw = String::from_utf8_lossy(&raw);
        assert!(!raw.contains(&key.secret_access_key) && !raw.contains(&key.api_key));

        access.set_status("alice", KeyStatus::Inactive).unwrap();
        assert!(matches!(
            verify(&access, &signed(&key)),
            Err(AccessError::UnrecognizedClient(_))
        ));
        access.set_status("alice", KeyStatus::Active).unwrap();
        let rotated = access.rotate_key("alice").unwrap();
        assert!(verify(&access, &signed(&key)).is_err());
        assert!(access.authenticate_bearer(&key.api_key).is_err());
        assert!(verify(&access, &signed(&rotated)).is_ok());
        drop(access);

        let reopened = open(dir.path(), store);
        assert!(verify(&reopened, &signed(&rotated)).is_ok());
        assert!(reopened.authenticate_bearer(&rotated.api_key).is_ok());
        reopened.delete_key("alice").unwrap();
        assert!(verify(&reopened, &signed(&rotated)).is_err());
        assert!(matches!(
            reopened.delete_key("alice"),
            Err(AccessError::NotFound(_))
        ));
    }

    #[test]
    fn a_session_token_key_needs_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let access = open(dir.path(), Store::temporary().unwrap());
        let key = access
            .create_key(CreateKeyInput {
                session_token: true,
                ..CreateKeyInput::named("temp")
            })
            .unwrap();
        let token = key.session_token.clone().unwrap();
        let now = SystemTime::now();
        let signed = |token: Option<&str>| {
            sigv4::tests::signed(
                ClientCredentials::new(&key.access_key_id, &key.secret_access_key, token),
                "us-east-1",
                now,
                "GET",
                "/",
                b"",
            )
        };
        let with = signed(Some(&token));
        assert!(verify(&access, &with).is_ok());
        let without = signed(None);
        assert!(matches!(
            verify(&access, &without),
            Err(AccessError::UnrecognizedClient(_))
        ));
        let wrong = signed(Some("forged"));
        assert!(matches!(
            verify(&access, &wrong),
            Err(AccessError::UnrecognizedClient(_))
        ));
    }

    #[test]
    fn policies_name_the_principal_action_and_resource() {
        let dir = tempfile::tempdir().unwrap();
        let access = open(dir.path(), Store::temporary().unwrap());
        let policy = PolicyDocument::parse(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel*", "Resource": "arn:aws:bedrock:*::foundation-model/*"}]}"#,
        )
        .unwrap();
        let key = access
            .create_key(CreateKeyInput {
                policies: Some(vec![policy]),
                ..CreateKeyInput::named("reader")
            })
            .unwrap();
        let principal = access.authenticate_bearer(&key.api_key).unwrap();
        let model = "arn:aws:bedrock:us-east-1::foundation-model/smollm2";
        principal
            .authorize("bedrock:InvokeModelWithResponseStream", model)
            .unwrap();
        match principal.authorize("bedrock:CreateGuardrail", "*") {
            Err(AccessError::AccessDenied(m)) => assert_eq!(
                m,
                "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: bedrock:CreateGuardrail on resource: * because no identity-based policy allows the bedrock:CreateGuardrail action"
            ),
            other => panic!("{other:?}"),
        }
        assert!(principal.require_admin("AdminListKeys").is_err());
    }

    #[test]
    fn the_admin_key_is_made_once_and_bearer_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::temporary().unwrap();
        let access = open(dir.path(), store.clone());
        assert!(!access.has_admin_key());
        let key = access.ensure_admin_key().unwrap().unwrap();
        assert_eq!(access.ensure_admin_key().unwrap(), None);
        let admin = access.authenticate_bearer(&key).unwrap();
        assert!(admin.admin && admin.require_admin("AdminListKeys").is_ok());
        assert!(access.authenticate_bearer("mantle-admin-wrong").is_err());
        assert!(access.set_admin_key("short").is_err());
        access.set_admin_key("an operator's own admin key").unwrap();
        assert!(access.authenticate_bearer(&key).is_err());
        let reopened = open(dir.path(), store);
        assert!(
            reopened
                .authenticate_bearer("an operator's own admin key")
                .is_ok()
        );
    }

    #[test]
    fn bad_names_and_policies_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let access = open(dir.path(), Store::temporary().unwrap());
        for bad in ["", "has space", &"x".repeat(65)] {
            assert!(matches!(
                access.create_key(CreateKeyInput::named(bad)),
                Err(AccessError::Validation { .. })
            ));
        }
        assert!(access.list_keys().unwrap().is_empty());
    }
}
