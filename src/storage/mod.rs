//! Object-store URLs: parsing what users write (a local path or a
//! `file://`, `s3://`, `gs://`, `az://`, `http(s)://` URL), building the
//! store behind it with credentials from the environment, and listing,
//! reading and replacing objects.

pub mod registry;

use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectMeta, ObjectStore, ObjectStoreExt};
use url::Url;

/// Validated `[storage]` settings: object_store's retry and timeouts, used
/// for every cloud store (S3, GCS, Azure, HTTP) the job reads or writes.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageSettings {
    pub max_retries: usize,
    pub retry_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for StorageSettings {
    /// object_store's own defaults, but for a request timeout that suits
    /// multi-hundred-megabyte extracts.
    fn default() -> Self {
        StorageSettings {
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A location in an object store, always absolute, folders ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl(Url);

/// A location that cannot be used: what the user wrote is not a URL or
/// path cvm can read, or an output would land outside its root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("empty location")]
    Empty,
    #[error("'{text}' is not a valid URL: {reason}")]
    Invalid { text: String, reason: url::ParseError },
    #[error("'{text}': unsupported scheme '{scheme}' (use file, s3, gs, az or http(s))")]
    UnsupportedScheme { text: String, scheme: String },
    /// The URL is kept with its user and password replaced, never as given.
    #[error(
        "'{redacted}': credentials do not belong in a URL (they would end up in logs and manifests); \
         give them in the environment (AWS_*, GOOGLE_*, AZURE_*) or the store's provider chain"
    )]
    Credentials { redacted: String },
    #[error("cannot resolve '{text}': {reason}")]
    Unresolvable { text: String, reason: String },
    #[error("'{text}' is not a usable local path")]
    NotALocalPath { text: String },
    #[error("'{given}' climbs out of {root} with '..'")]
    ClimbsOut { given: String, root: String },
    #[error("'{given}' is outside {root}: outputs go below it (give a path relative to it)")]
    Outside { given: String, root: String },
    #[error("cannot join '{rel}' to {base}: {reason}")]
    Join { rel: String, base: String, reason: url::ParseError },
}

/// For the engine's callers: a location error inside a query keeps its type.
impl From<UrlError> for datafusion::error::DataFusionError {
    fn from(error: UrlError) -> Self {
        datafusion::error::DataFusionError::External(Box::new(error))
    }
}

/// An object-store call that failed, with the URL it was about.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {source}")]
pub struct StorageError {
    pub url: String,
    #[source]
    pub source: object_store::Error,
}

impl StoreUrl {
    /// Parses a URL, or a local path relative to `base` (a folder).
    pub fn parse(text: &str, base: &FsPath) -> Result<StoreUrl, UrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        if text.contains("://") {
            let url = Url::parse(text).map_err(|reason| UrlError::Invalid { text: text.into(), reason })?;
            match url.scheme() {
                "file" | "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "http" | "https" => {}
                other => return Err(UrlError::UnsupportedScheme { text: text.into(), scheme: other.into() }),
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(UrlError::Credentials { redacted: redact_userinfo(&url) });
            }
            return Ok(StoreUrl(url));
        }
        let path = FsPath::new(text);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let base = std::path::absolute(base)
                .map_err(|e| UrlError::Unresolvable { text: text.into(), reason: e.to_string() })?;
            base.join(path)
        };
        let mut url =
            Url::from_file_path(normalize(&absolute)).map_err(|_| UrlError::NotALocalPath { text: text.into() })?;
        if text.ends_with('/') && !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Ok(StoreUrl(url))
    }

    /// An output location given on the command line, confined to `self` (a
    /// root folder): a relative path is read below the root, and an
    /// absolute path or URL must lie below it. `..` cannot climb out.
    pub fn confine(&self, given: &str) -> Result<StoreUrl, UrlError> {
        let root = self.as_folder();
        let is_relative = !given.contains("://") && !FsPath::new(given).is_absolute();
        let target = if is_relative {
            if given.split(['/', '\\']).any(|part| part == "..") {
                return Err(UrlError::ClimbsOut { given: given.into(), root: root.to_string() });
            }
            root.join(given)?
        } else {
            StoreUrl::parse(given, FsPath::new("/"))?
        };
        let inside = target.store_root() == root.store_root()
            && target.0.path().starts_with(root.0.path())
            && target.0.path().len() > root.0.path().len();
        if !inside {
            return Err(UrlError::Outside { given: given.into(), root: root.to_string() });
        }
        Ok(target)
    }

    /// A location below this one; a full URL stands for itself.
    pub fn join(&self, rel: &str) -> Result<StoreUrl, UrlError> {
        if rel.contains("://") || rel.starts_with('/') {
            return StoreUrl::parse(rel, FsPath::new("/"));
        }
        let base = self.as_folder();
        base.0.join(rel).map(StoreUrl).map_err(|reason| UrlError::Join {
            rel: rel.into(),
            base: self.to_string(),
            reason,
        })
    }

    /// The same location with a trailing `/`.
    pub fn as_folder(&self) -> StoreUrl {
        let mut url = self.0.clone();
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        StoreUrl(url)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// `scheme://authority/`: the key DataFusion registers a store under.
    pub fn store_root(&self) -> Url {
        let mut root = self.0.clone();
        root.set_path("/");
        root.set_query(None);
        root.set_fragment(None);
        root
    }

    /// The path of this location inside its store.
    pub fn store_path(&self) -> Path {
        if self.0.scheme() == "file" {
            let fs = self.0.to_file_path().unwrap_or_default();
            Path::from_absolute_path(&fs).unwrap_or_else(|_| Path::from(self.0.path()))
        } else {
            Path::from_url_path(self.0.path()).unwrap_or_else(|_| Path::from(self.0.path()))
        }
    }

    /// The URL of an object path in the same store.
    pub fn url_of(&self, path: &Path) -> String {
        format!("{}{}", self.store_root(), path)
    }

    /// Builds the object store for this URL; cloud credentials come from the
    /// environment exactly as object_store reads them (AWS_*, GOOGLE_*,
    /// AZURE_*, and each cloud's standard provider chain), never from a job
    /// file. Retries and timeouts follow `settings` (the job's `[storage]`).
    pub fn build_store(&self, settings: &StorageSettings) -> Result<Arc<dyn ObjectStore>, StorageError> {
        use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
        use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
        use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
        let url = &self.0;
        let err = |source| StorageError { url: url.to_string(), source };
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: settings.initial_backoff,
                max_backoff: settings.max_backoff,
                base: 2.0,
            },
            max_retries: settings.max_retries,
            retry_timeout: settings.retry_timeout,
        };
        let timeouts = [
            (ClientConfigKey::Timeout, format!("{}ms", settings.request_timeout.as_millis())),
            (ClientConfigKey::ConnectTimeout, format!("{}ms", settings.connect_timeout.as_millis())),
        ];
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(object_store::local::LocalFileSystem::new()),
            "s3" | "s3a" => {
                let builder = timeouts
                    .iter()
                    .fold(AmazonS3Builder::from_env(), |b, (k, v)| b.with_config(AmazonS3ConfigKey::Client(*k), v));
                Arc::new(builder.with_url(url.as_str()).with_retry(retry).build().map_err(err)?)
            }
            "gs" => {
                let builder = timeouts.iter().fold(GoogleCloudStorageBuilder::from_env(), |b, (k, v)| {
                    b.with_config(GoogleConfigKey::Client(*k), v)
                });
                Arc::new(builder.with_url(url.as_str()).with_retry(retry).build().map_err(err)?)
            }
            "az" | "abfs" | "abfss" => {
                let builder = timeouts
                    .iter()
                    .fold(MicrosoftAzureBuilder::from_env(), |b, (k, v)| b.with_config(AzureConfigKey::Client(*k), v));
                Arc::new(builder.with_url(url.as_str()).with_retry(retry).build().map_err(err)?)
            }
            "http" | "https" => {
                let builder =
                    timeouts.iter().fold(object_store::http::HttpBuilder::new(), |b, (k, v)| b.with_config(*k, v));
                Arc::new(builder.with_url(self.store_root().as_str()).with_retry(retry).build().map_err(err)?)
            }
            other => {
                return Err(err(object_store::Error::Generic {
                    store: "cvm",
                    source: format!("unsupported scheme {other}").into(),
                }));
            }
        };
        Ok(store)
    }
}

/// As its URL text: a cluster's scan carries source locations this way.
impl serde::Serialize for StoreUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for StoreUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        StoreUrl::parse(&text, FsPath::new("/")).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn redact_userinfo(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("***");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Removes `.` and `..` from a path without touching the filesystem.
fn normalize(path: &FsPath) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A store with the URL it was opened for.
#[derive(Clone)]
pub struct Location {
    pub url: StoreUrl,
    pub store: Arc<dyn ObjectStore>,
}

impl Location {
    /// The store behind `url`, with `settings`' retries and timeouts.
    pub fn open(url: &StoreUrl, settings: &StorageSettings) -> Result<Location, StorageError> {
        Ok(Location { url: url.clone(), store: url.build_store(settings)? })
    }

    fn err(&self, path: &Path) -> impl Fn(object_store::Error) -> StorageError + '_ {
        let url = self.url.url_of(path);
        move |source| StorageError { url: url.clone(), source }
    }

    /// Every data file below this location (or the object itself), sorted by
    /// path. Names starting with `.` or `_` (markers such as `_SUCCESS`) are skipped.
    pub async fn list_files(&self) -> Result<Vec<ObjectMeta>, StorageError> {
        let prefix = self.url.store_path();
        // A URL naming one object lists as that object.
        if !self.url.as_str().ends_with('/')
            && let Ok(meta) = self.store.head(&prefix).await
        {
            return Ok(vec![meta]);
        }
        let mut files: Vec<ObjectMeta> = match self.store.list(Some(&prefix)).try_collect().await {
            Ok(files) => files,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(self.err(&prefix)(e)),
        };
        files.retain(|m| {
            let rel = m.location.as_ref().strip_prefix(prefix.as_ref()).unwrap_or(m.location.as_ref());
            !rel.split('/').any(|part| part.starts_with('.') || part.starts_with('_'))
        });
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(files)
    }

    pub async fn get_bytes(&self, path: &Path) -> Result<bytes::Bytes, StorageError> {
        let result = self.store.get(path).await.map_err(self.err(path))?;
        result.bytes().await.map_err(self.err(path))
    }

    pub async fn put_bytes(&self, path: &Path, bytes: bytes::Bytes) -> Result<(), StorageError> {
        self.store.put(path, bytes.into()).await.map_err(self.err(path))?;
        Ok(())
    }

    /// Writes an object only if none exists at `path` (atomic on every store
    /// cvm supports: the primitive of commits and locks). False when one exists.
    pub async fn create_if_absent(&self, path: &Path, bytes: bytes::Bytes) -> Result<bool, StorageError> {
        let create = object_store::PutOptions { mode: object_store::PutMode::Create, ..Default::default() };
        match self.store.put_opts(path, bytes.into(), create).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.err(path)(e)),
        }
    }

    /// Deletes every object under `prefix` (a folder path).
    pub async fn delete_prefix(&self, prefix: &Path) -> Result<usize, StorageError> {
        let objects = self.list_under(prefix).await?;
        for meta in &objects {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err(&meta.location)(e)),
            }
        }
        Ok(objects.len())
    }

    /// Lists the objects under `prefix` (a folder path), recursively.
    pub async fn list_under(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, StorageError> {
        match self.store.list(Some(prefix)).try_collect().await {
            Ok(v) => Ok(v),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(self.err(prefix)(e)),
        }
    }

    /// Moves an object (rename where the store can, copy and delete where it cannot).
    pub async fn rename(&self, from: &Path, to: &Path) -> Result<(), StorageError> {
        self.store.rename(from, to).await.map_err(self.err(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_absolute_file_urls() {
        let u = StoreUrl::parse("../fixtures/demo/input", FsPath::new("/work/main/jobs")).unwrap();
        assert_eq!(u.as_str(), "file:///work/main/fixtures/demo/input");
        let cdr = u.join("cdr/").unwrap();
        assert_eq!(cdr.as_str(), "file:///work/main/fixtures/demo/input/cdr/");
    }

    #[test]
    fn absolute_urls_stand_for_themselves() {
        let u = StoreUrl::parse("s3://landing/telco/", FsPath::new("/")).unwrap();
        assert_eq!(u.join("cdr/").unwrap().as_str(), "s3://landing/telco/cdr/");
        assert_eq!(u.join("s3://other/x/").unwrap().as_str(), "s3://other/x/");
        assert_eq!(u.store_root().as_str(), "s3://landing/");
        assert_eq!(u.store_path().as_ref(), "telco");
    }

    #[test]
    fn outputs_stay_below_their_root() {
        let root = StoreUrl::parse("/srv/wh/_exports/", FsPath::new("/")).unwrap();
        assert_eq!(root.confine("lists/a.csv").unwrap().as_str(), "file:///srv/wh/_exports/lists/a.csv");
        assert_eq!(root.confine("/srv/wh/_exports/a.csv").unwrap().as_str(), "file:///srv/wh/_exports/a.csv");
        let outside = |given: &str| matches!(root.confine(given), Err(UrlError::Outside { .. }));
        assert!(matches!(root.confine("../customer_value/x.parquet"), Err(UrlError::ClimbsOut { .. })));
        assert!(outside("/etc/cron.d/x"));
        assert!(outside("/srv/wh/_exports/../kpi/x"));
        assert!(outside("/srv/wh/_exports_evil/x"));
        assert!(outside("s3://bucket/x.csv"));
        assert!(root.confine("../x").unwrap_err().to_string().contains(".."));
        let s3 = StoreUrl::parse("s3://bucket/exports/", FsPath::new("/")).unwrap();
        assert!(s3.confine("s3://bucket/exports/a.csv").is_ok());
        assert!(s3.confine("s3://other/exports/a.csv").is_err());
    }

    #[test]
    fn credentials_in_urls_are_refused_without_being_repeated() {
        let err = StoreUrl::parse("s3://AKIAXXX:s3cr3t@bucket/x/", FsPath::new("/")).unwrap_err().to_string();
        assert!(err.contains("environment") && !err.contains("s3cr3t") && !err.contains("AKIAXXX"), "{err}");
    }

    #[test]
    fn unsupported_schemes_are_refused() {
        let err = StoreUrl::parse("ftp://x/y", FsPath::new("/")).unwrap_err();
        assert_eq!(err, UrlError::UnsupportedScheme { text: "ftp://x/y".into(), scheme: "ftp".into() });
        assert!(err.to_string().contains("use file, s3"), "{err}");
    }
}
