//! Reading one file of a raw scan into its partition's channel: a text
//! file parsed on a blocking thread as its bytes stream in, a Parquet file
//! decoded a row group at a time, reading only the contract's columns.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::job::{Format, Source};
use crate::stages::ingest::raw::{self, FileError};
use crate::storage::StoreUrl;

/// How one file of a scan is read.
pub(super) struct FileRead<'a> {
    pub source: &'a Arc<Source>,
    /// The raw table's full schema.
    pub schema: &'a SchemaRef,
    pub projection: Option<&'a [usize]>,
}

type Sender = tokio::sync::mpsc::Sender<DfResult<RecordBatch>>;

impl FileRead<'_> {
    /// Reads one file into `tx` through this process's store for its URL.
    pub(super) async fn read(&self, ctx: &TaskContext, url: String, tx: &Sender) -> DfResult<()> {
        let unreadable = |message: String| file_failure(FileError::Unreadable { file: url.clone(), message });
        let location = StoreUrl::parse(&url, std::path::Path::new("/")).map_err(|e| unreadable(e.to_string()))?;
        let store = ctx.runtime_env().object_store_registry.get_store(&location.store_root())?;
        match self.source.format {
            Format::Parquet => self.read_parquet(store, location.store_path(), url, tx).await,
            _ => self.read_text(store, location.store_path(), url, tx).await,
        }
    }

    /// A text file, parsed on a blocking thread as its bytes stream in.
    async fn read_text(
        &self,
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        url: String,
        tx: &Sender,
    ) -> DfResult<()> {
        let stream = store
            .get(&path)
            .await
            .map_err(|e| file_failure(FileError::Unreadable { file: url.clone(), message: e.to_string() }))?
            .into_stream();
        let input = StreamRead { runtime: tokio::runtime::Handle::current(), stream, current: bytes::Bytes::new() };
        let sender = tx.clone();
        let source = self.source.clone();
        let projection = self.projection.map(<[usize]>::to_vec);
        let parsed = tokio::task::spawn_blocking(move || {
            raw::read_text(&source, &url, Box::new(input), &mut |batch| {
                sender.blocking_send(project(batch, projection.as_deref())).is_ok()
            })
        })
        .await;
        match parsed {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(file_failure(e)),
            Err(join) => Err(DataFusionError::External(Box::new(join))),
        }
    }

    /// A Parquet file, a row group at a time, only its contract columns.
    async fn read_parquet(
        &self,
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        url: String,
        tx: &Sender,
    ) -> DfResult<()> {
        use datafusion::parquet::arrow::ProjectionMask;
        use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
        let unreadable = |e: &dyn std::fmt::Display| {
            file_failure(FileError::Unreadable { file: url.clone(), message: e.to_string() })
        };
        let size = store.head(&path).await.map_err(|e| unreadable(&e))?.size;
        let reader = StoreFile { store, path, size };
        let builder = ParquetRecordBatchStreamBuilder::new(reader).await.map_err(|e| unreadable(&e))?;
        let layout = raw::parquet_layout(self.source, &url, builder.schema()).map_err(file_failure)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), layout.projection.iter().copied());
        let mut batches =
            builder.with_projection(mask).with_batch_size(raw::BATCH_ROWS).build().map_err(|e| unreadable(&e))?;
        let mut row: i64 = 0;
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| unreadable(&e))?;
            let raw = raw::parquet_raw_batch(&layout, self.schema, &url, &batch, row).map_err(file_failure)?;
            row += batch.num_rows() as i64;
            if tx.send(project(raw, self.projection)).await.is_err() {
                return Ok(()); // the consumer has gone
            }
        }
        Ok(())
    }
}

fn file_failure(e: FileError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn project(batch: RecordBatch, projection: Option<&[usize]>) -> DfResult<RecordBatch> {
    match projection {
        Some(columns) => batch.project(columns).map_err(DataFusionError::from),
        None => Ok(batch),
    }
}

/// A Parquet file in an object store, read by ranges: the footer, then the
/// column chunks of each row group as the decoder asks for them.
struct StoreFile {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    size: u64,
}

impl datafusion::parquet::arrow::async_reader::AsyncFileReader for StoreFile {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> futures::future::BoxFuture<'_, datafusion::parquet::errors::Result<bytes::Bytes>> {
        Box::pin(async move { self.store.get_range(&self.path, range).await.map_err(parquet_error) })
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> futures::future::BoxFuture<'_, datafusion::parquet::errors::Result<Vec<bytes::Bytes>>> {
        Box::pin(async move { self.store.get_ranges(&self.path, &ranges).await.map_err(parquet_error) })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> futures::future::BoxFuture<
        'a,
        datafusion::parquet::errors::Result<Arc<datafusion::parquet::file::metadata::ParquetMetaData>>,
    > {
        Box::pin(async move {
            let size = self.size;
            let metadata = datafusion::parquet::file::metadata::ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        })
    }
}

fn parquet_error(e: object_store::Error) -> datafusion::parquet::errors::ParquetError {
    datafusion::parquet::errors::ParquetError::External(Box::new(e))
}

/// An object's byte stream as a blocking reader, for the parser's thread:
/// the bytes arrive a chunk at a time, never as a whole file.
struct StreamRead {
    runtime: tokio::runtime::Handle,
    stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl std::io::Read for StreamRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}
