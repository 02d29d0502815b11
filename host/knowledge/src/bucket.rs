//! The embedded bucket root, read through `object_store`: `s3://NAME/key` is
//! `<data-dir>/buckets/NAME/key`. `object_store`'s paths refuse `..` and other escapes, so a
//! key can never leave its bucket.

use std::path::PathBuf;

use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::valid_bucket_name;

#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    root: PathBuf,
}

/// `s3://bucket/key` split in two.
pub(crate) fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (valid_bucket_name(bucket) && !key.is_empty()).then_some((bucket, key))
}

impl Buckets {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn bucket(&self, name: &str) -> Result<LocalFileSystem, String> {
        let dir = self.root.join(name);
        if !dir.is_dir() {
            return Err(format!(
                "bucket {name} does not exist (the embedded bucket root keeps it at {})",
                dir.display()
            ));
        }
        LocalFileSystem::new_with_prefix(&dir).map_err(|e| format!("bucket {name}: {e}"))
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

    /// Every key in `bucket` that starts with `prefix` (S3's string prefixes, not folders),
    /// sorted.
    pub(crate) async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        let store = self.bucket(bucket)?;
        let objects: Vec<_> = store
            .list(None)
            .try_collect()
            .await
            .map_err(|e| format!("listing bucket {bucket}: {e}"))?;
        let mut keys: Vec<String> = objects
            .into_iter()
            .map(|meta| meta.location.to_string())
            .filter(|key| key.starts_with(prefix))
            .collect();
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_stay_inside_their_bucket() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("docs/a")).unwrap();
        std::fs::write(root.path().join("docs/a/one.txt"), "one").unwrap();
        std::fs::write(root.path().join("docs/top.md"), "top").unwrap();
        std::fs::write(root.path().join("secret.txt"), "no").unwrap();
        let buckets = Buckets::new(root.path().to_owned());
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
            ["a/one.txt", "top.md"]
        );
        assert_eq!(buckets.list("docs", "a/o").await.unwrap(), ["a/one.txt"]);
    }
}
