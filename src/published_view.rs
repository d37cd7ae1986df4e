//! What readers see of a warehouse: an object store that lists, in the
//! warehouse's table folders, exactly the files of the latest commit (see
//! [`crate::commit`]) and nothing else: not a run's half-moved files, not the
//! files a commit has just replaced. Everything else (reads, writes, the
//! `_`-folders such as `_restricted/` and `_exports/`, other paths) goes to
//! the real store; a `_` table the commit lists (`_usage_by_file`, cvm's
//! own) is governed like the analysts' tables.
//!
//! Registered in a reading session in place of the warehouse's store, it
//! lets DataFusion's ordinary listing tables (with hive partition pruning)
//! read a consistent snapshot without listing the store at all.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result,
};

use crate::commit::{Commit, join_rel};

#[derive(Debug, Clone)]
pub struct PublishedView {
    inner: Arc<dyn ObjectStore>,
    root: Path,
    /// Every published file, by full path.
    files: Arc<BTreeMap<Path, ObjectMeta>>,
    /// The tables of the commit (an internal `_` table such as
    /// `_usage_by_file` is governed too).
    tables: Arc<BTreeSet<String>>,
}

impl PublishedView {
    pub fn new(inner: Arc<dyn ObjectStore>, root: Path, commit: &Commit) -> PublishedView {
        let committed_at = DateTime::parse_from_rfc3339(&commit.committed_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        let files = commit
            .files
            .iter()
            .map(|f| {
                let location = join_rel(&root, &f.path);
                let meta = ObjectMeta {
                    location: location.clone(),
                    last_modified: committed_at,
                    size: f.bytes,
                    e_tag: None,
                    version: None,
                };
                (location, meta)
            })
            .collect();
        let tables = commit.files.iter().map(|f| f.table.clone()).collect();
        PublishedView { inner, root, files: Arc::new(files), tables: Arc::new(tables) }
    }

    /// Whether `path` is in a table folder of the warehouse (or is one), where
    /// only committed files are shown.
    fn governed(&self, path: &Path) -> bool {
        path.prefix_matches(&self.root)
            && path.parts().nth(self.root.parts().count()).is_some_and(|table| {
                let name = table.as_ref();
                (!name.starts_with('_') && !name.starts_with('.')) || self.tables.contains(name)
            })
    }

    /// Whether `path` is below `prefix` (segment-wise), or `prefix` is None.
    fn below(path: &Path, prefix: Option<&Path>) -> bool {
        prefix.is_none_or(|p| path.prefix_matches(p))
    }
}

impl std::fmt::Display for PublishedView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublishedView({}, {} files)", self.inner, self.files.len())
    }
}

#[async_trait]
impl ObjectStore for PublishedView {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let published: Vec<ObjectMeta> =
            self.files.values().filter(|m| Self::below(&m.location, prefix)).cloned().collect();
        if prefix.is_some_and(|p| self.governed(p)) {
            return futures::stream::iter(published.into_iter().map(Ok)).boxed();
        }
        // a wider listing: the store's, with the table folders' part replaced
        let view = self.clone();
        let outside = self.inner.list(prefix).filter(move |m| {
            let keep = m.as_ref().map(|m| !view.governed(&m.location)).unwrap_or(true);
            futures::future::ready(keep)
        });
        outside.chain(futures::stream::iter(published.into_iter().map(Ok))).boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let base = prefix.cloned().unwrap_or_default();
        let depth = base.parts().count();
        let mut result = if prefix.is_some_and(|p| self.governed(p)) {
            ListResult { common_prefixes: Vec::new(), objects: Vec::new() }
        } else {
            let mut outside = self.inner.list_with_delimiter(prefix).await?;
            outside.objects.retain(|m| !self.governed(&m.location));
            outside.common_prefixes.retain(|p| !self.governed(p));
            outside
        };
        for meta in self.files.values().filter(|m| Self::below(&m.location, prefix)) {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                result.objects.push(meta.clone());
            } else {
                let folder: Path = parts.into_iter().take(depth + 1).collect();
                if !result.common_prefixes.contains(&folder) {
                    result.common_prefixes.push(folder);
                }
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::CommittedFile;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn only_committed_files_are_listed_below_the_warehouse() {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for p in [
            "wh/kpi/snapshot_date=1/part-a-0.parquet",
            "wh/kpi/snapshot_date=1/part-b-0.parquet",
            "wh/_restricted/contacts/part-0.parquet",
            "wh/_usage_by_file/event_date=1/part-a-0.parquet",
            "wh/_usage_by_file/event_date=1/part-b-0.parquet",
            "other/x",
        ] {
            inner.put(&Path::from(p), "data".into()).await.unwrap();
        }
        let commit = Commit {
            format: "cvm-commit/1".into(),
            seq: 1,
            committed_at: "2026-11-23T01:00:00Z".into(),
            job: "demo".into(),
            snapshot_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            run_id: "a".into(),
            files: vec![
                CommittedFile {
                    path: "kpi/snapshot_date=1/part-a-0.parquet".into(),
                    table: "kpi".into(),
                    partition: "snapshot_date=1".into(),
                    bytes: 4,
                },
                // an internal table of the commit is governed like the others
                CommittedFile {
                    path: "_usage_by_file/event_date=1/part-a-0.parquet".into(),
                    table: "_usage_by_file".into(),
                    partition: "event_date=1".into(),
                    bytes: 4,
                },
            ],
            usage_inputs: vec![],
            tables: Default::default(),
        };
        let view = PublishedView::new(inner, Path::from("wh"), &commit);
        let listed = |prefix: Option<&str>| {
            let prefix = prefix.map(Path::from);
            let stream = view.list(prefix.as_ref()).map_ok(|m| m.location.to_string());
            stream.try_collect::<Vec<String>>()
        };
        assert_eq!(listed(Some("wh/kpi")).await.unwrap(), vec!["wh/kpi/snapshot_date=1/part-a-0.parquet"]);
        assert_eq!(
            listed(Some("wh/_usage_by_file")).await.unwrap(),
            vec!["wh/_usage_by_file/event_date=1/part-a-0.parquet"]
        );
        let all = listed(None).await.unwrap();
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(all.contains(&"other/x".to_string()));
        // the _-folders (contacts, exports, manifests) are the store's own
        assert_eq!(listed(Some("wh/_restricted")).await.unwrap(), vec!["wh/_restricted/contacts/part-0.parquet"]);
        let mut folders = view.list_with_delimiter(Some(&Path::from("wh"))).await.unwrap().common_prefixes;
        folders.sort();
        assert_eq!(folders, vec![Path::from("wh/_restricted"), Path::from("wh/_usage_by_file"), Path::from("wh/kpi")]);
        let top = view.list_with_delimiter(None).await.unwrap();
        assert!(top.common_prefixes.contains(&Path::from("wh")) && top.common_prefixes.contains(&Path::from("other")));
    }
}
