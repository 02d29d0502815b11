//! Where `s3://` URIs are read, through `object_store`: by default the embedded bucket root
//! (`s3://NAME/key` is `<data-dir>/buckets/NAME/key`), or an S3-compatible endpoint (AWS S3,
//! MinIO, Ceph, R2…) named in the server's settings. `object_store`'s paths refuse `..` and
//! other escapes, so a key can never leave its bucket.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::valid_bucket_name;

/// Where a knowledge base's `s3://` URIs resolve.
#[derive(Debug, Clone)]
pub enum BucketSource {
    /// `s3://NAME/key` is `<root>/NAME/key`; a bucket is a folder someone created there.
    Embedded(PathBuf),
    /// Buckets of an S3-compatible service.
    S3(S3Endpoint),
}

/// An S3-compatible endpoint. Without credentials, requests go unsigned (public buckets).
///
/// ```
/// use mantle_knowledge::{BucketSource, S3Endpoint};
/// let minio = S3Endpoint::new("http://127.0.0.1:9000", "us-east-1")
///     .with_credentials("minioadmin", "minioadmin", None);
/// let source = BucketSource::S3(minio);
/// # let _ = source;
/// ```
#[derive(Clone)]
pub struct S3Endpoint {
    /// `https://s3.us-west-2.amazonaws.com`, `http://127.0.0.1:9000`… Plain `http://` is
    /// allowed because self-hosted stores often sit on a private network without TLS.
    pub endpoint: String,
    pub region: String,
    pub credentials: Option<S3Credentials>,
    /// `https://BUCKET.host/key` instead of `https://host/BUCKET/key` (path style, what
    /// self-hosted services expect).
    pub virtual_hosted_style: bool,
}

/// An access key for [`S3Endpoint`].
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl S3Endpoint {
    /// A path-style endpoint with unsigned requests.
    pub fn new(endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            region: region.into(),
            credentials: None,
            virtual_hosted_style: false,
        }
    }

    /// Signs requests with this key.
    pub fn with_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.credentials = Some(S3Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        });
        self
    }
}

// Secrets stay out of logs and panics.
impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for S3Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Endpoint")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.credentials.as_ref().map(|c| &c.access_key_id),
            )
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .finish()
    }
}

#[derive(Debug)]
pub(crate) struct Buckets {
    source: BucketSource,
    /// One client per remote bucket, built on first use: each holds a connection pool.
    remote: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// `s3://bucket/key` split in two.
pub(crate) fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (valid_bucket_name(bucket) && !key.is_empty()).then_some((bucket, key))
}

impl Buckets {
    pub(crate) fn new(source: BucketSource) -> Self {
        Self {
            source,
            remote: Mutex::default(),
        }
    }

    fn bucket(&self, name: &str) -> Result<Arc<dyn ObjectStore>, String> {
        match &self.source {
            BucketSource::Embedded(root) => {
                let dir = root.join(name);
                if !dir.is_dir() {
                    return Err(format!(
                        "bucket {name} does not exist (the embedded bucket root keeps it at {})",
                        dir.display()
                    ));
                }
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| format!("bucket {name}: {e}"))?;
                Ok(Arc::new(store))
            }
            BucketSource::S3(endpoint) => {
                let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(store) = remote.get(name) {
                    return Ok(store.clone());
                }
                let store: Arc<dyn ObjectStore> = Arc::new(s3_client(endpoint, name)?);
                remote.insert(name.to_owned(), store.clone());
                Ok(store)
            }
        }
    }

    /// Says where a bucket lives, for error messages.
    fn describe(&self, bucket: &str) -> String {
        match &self.source {
            BucketSource::Embedded(root) => root.join(bucket).display().to_string(),
            BucketSource::S3(endpoint) => format!("{} (bucket {bucket})", endpoint.endpoint),
        }
    }

    /// The object at `s3://bucket/key`.
    pub(crate) async fn read(&self, uri: &str) -> Result<Vec<u8>, String> {
        let (bucket, key) =
            parse_s3_uri(uri).ok_or_else(|| format!("{uri} is not an s3://bucket/key URI"))?;
        let path = Path::parse(key).map_err(|e| format!("{uri}: {e}"))?;
        let object = self.bucket(bucket)?.get(&path).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => format!("{uri} does not exist"),
            other => format!("{uri}: {other}"),
        })?;
        let bytes = object.bytes().await.map_err(|e| format!("{uri}: {e}"))?;
        Ok(bytes.to_vec())
    }

    /// Stores `bytes` at `s3://bucket/key`, replacing what was there. The bucket must exist:
    /// objects are written into buckets, never buckets made on the way.
    pub(crate) async fn write(&self, uri: &str, bytes: Vec<u8>) -> Result<(), String> {
        let (bucket, key) =
            parse_s3_uri(uri).ok_or_else(|| format!("{uri} is not an s3://bucket/key URI"))?;
        let path = Path::parse(key).map_err(|e| format!("{uri}: {e}"))?;
        self.bucket(bucket)?
            .put(&path, bytes.into())
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        Ok(())
    }

    /// Every key in `bucket` that starts with `prefix` (S3's string prefixes, not folders),
    /// sorted.
    pub(crate) async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        let store = self.bucket(bucket)?;
        // object_store lists by whole path segments, so the listing starts at the prefix's
        // folder and the string prefix is matched here.
        let folder = prefix
            .rsplit_once('/')
            .map(|(folder, _)| folder)
            .filter(|folder| !folder.is_empty())
            .map(Path::parse)
            .transpose()
            .map_err(|e| format!("inclusion prefix {prefix:?}: {e}"))?;
        let objects: Vec<_> =
            store
                .list(folder.as_ref())
                .try_collect()
                .await
                .map_err(|e| match e {
                    object_store::Error::NotFound { .. } => format!(
                        "bucket {bucket} does not exist at {}",
                        self.describe(bucket)
                    ),
                    other => format!("listing bucket {bucket}: {other}"),
                })?;
        let mut keys: Vec<String> = objects
            .into_iter()
            .map(|meta| meta.location.to_string())
            .filter(|key| key.starts_with(prefix))
            .collect();
        keys.sort();
        Ok(keys)
    }
}

fn s3_client(endpoint: &S3Endpoint, bucket: &str) -> Result<impl ObjectStore, String> {
    // reqwest is built without a TLS provider of its own; ring is the one in the tree. An
    // error here only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::new()
        .with_endpoint(&endpoint.endpoint)
        .with_region(&endpoint.region)
        .with_bucket_name(bucket)
        .with_allow_http(endpoint.endpoint.starts_with("http://"))
        .with_virtual_hosted_style_request(endpoint.virtual_hosted_style);
    builder = match &endpoint.credentials {
        Some(key) => {
            let builder = builder
                .with_access_key_id(&key.access_key_id)
                .with_secret_access_key(&key.secret_access_key);
            match &key.session_token {
                Some(token) => builder.with_token(token),
                None => builder,
            }
        }
        None => builder.with_skip_signature(true),
    };
    builder
        .build()
        .map_err(|e| format!("bucket {bucket} at {}: {e}", endpoint.endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_stay_inside_their_bucket() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("docs/a")).unwrap();
        std::fs::write(root.path().join("docs/a/one.txt"), "one").unwrap();
        std::fs::write(root.path().join("docs/a/other.txt"), "other").unwrap();
        std::fs::write(root.path().join("docs/ab.txt"), "ab").unwrap();
        std::fs::write(root.path().join("docs/top.md"), "top").unwrap();
        std::fs::write(root.path().join("secret.txt"), "no").unwrap();
        let buckets = Buckets::new(BucketSource::Embedded(root.path().to_owned()));
        assert_eq!(buckets.read("s3://docs/a/one.txt").await.unwrap(), b"one");
        assert!(buckets.read("s3://docs/../secret.txt").await.is_err());
        assert!(
            buckets
                .read("s3://docs/a/missing.txt")
                .await
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            buckets
                .read("s3://nobucket/x")
                .await
                .unwrap_err()
                .contains("bucket nobucket")
        );
        assert_eq!(
            buckets.list("docs", "").await.unwrap(),
            ["a/one.txt", "a/other.txt", "ab.txt", "top.md"]
        );
        // String prefixes, as S3 has them: `a` covers the folder and `ab.txt`.
        assert_eq!(
            buckets.list("docs", "a").await.unwrap(),
            ["a/one.txt", "a/other.txt", "ab.txt"]
        );
        assert_eq!(
            buckets.list("docs", "a/o").await.unwrap(),
            ["a/one.txt", "a/other.txt"]
        );
        assert_eq!(buckets.list("docs", "a/on").await.unwrap(), ["a/one.txt"]);
        assert!(buckets.list("docs", "zz/").await.unwrap().is_empty());
    }

    #[test]
    fn endpoint_debug_hides_the_secret() {
        let endpoint = S3Endpoint::new("http://127.0.0.1:9000", "us-east-1").with_credentials(
            "AKID",
            "very-secret",
            Some("token-secret".into()),
        );
        let shown = format!("{endpoint:?}");
        assert!(shown.contains("AKID") && shown.contains("127.0.0.1:9000"));
        assert!(!shown.contains("very-secret") && !shown.contains("token-secret"));
    }
}
