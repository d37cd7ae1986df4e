//! cvm's object-store registry: every process of a run (the client, and on
//! a cluster the scheduler and each executor) resolves a URL to a store the
//! same way, building it on first use from the URL and the process's
//! environment and the registry's storage settings (see
//! [`StoreUrl::build_store`]). A store registered explicitly (a test's, or
//! the read-through-commit view) wins.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use object_store::ObjectStore;
use url::Url;

use crate::storage::{StorageSettings, StoreUrl};

#[derive(Debug)]
pub struct StoreRegistry {
    stores: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
    /// The retries and timeouts of every store it builds.
    settings: StorageSettings,
}

impl StoreRegistry {
    pub fn new(settings: StorageSettings) -> Self {
        StoreRegistry { stores: RwLock::default(), settings }
    }
}

/// The key of the store that serves `url`: scheme and authority (a bucket,
/// a host), as DataFusion's own registry keys them.
fn store_key(url: &Url) -> String {
    format!("{}://{}", url.scheme(), &url[url::Position::BeforeHost..url::Position::AfterPort])
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.stores.write().unwrap_or_else(|e| e.into_inner()).insert(store_key(url), store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.stores
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&store_key(url))
            .ok_or_else(|| DataFusionError::Execution(format!("no object store registered for {url}")))
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let key = store_key(url);
        if let Some(store) = self.stores.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(store.clone());
        }
        let store = StoreUrl::parse(url.as_str(), std::path::Path::new("/"))?
            .build_store(&self.settings)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut stores = self.stores.write().unwrap_or_else(|e| e.into_inner());
        Ok(stores.entry(key).or_insert(store).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_store_on_first_use_and_keeps_an_explicit_one() {
        let registry = StoreRegistry::new(StorageSettings::default());
        let file = Url::parse("file:///tmp/x/y.parquet").unwrap();
        let first = registry.get_store(&file).unwrap();
        assert!(Arc::ptr_eq(&first, &registry.get_store(&file).unwrap()), "built once, then cached");

        let s3 = Url::parse("s3://bucket-a/some/key").unwrap();
        let explicit: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        registry.register_store(&s3, explicit.clone());
        let other_key = Url::parse("s3://bucket-a/other").unwrap();
        assert!(Arc::ptr_eq(&explicit, &registry.get_store(&other_key).unwrap()), "one store per bucket");

        let unknown = Url::parse("ftp://host/file").unwrap();
        let err = registry.get_store(&unknown).unwrap_err().to_string();
        assert!(err.contains("ftp"), "{err}");
    }
}
