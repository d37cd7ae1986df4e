//! How cvm's ingest travels on a cluster. The client sends its logical plan
//! to the scheduler, which plans it and sends each task's physical plan to
//! an executor; both hops are protobuf, and a plan node DataFusion does not
//! know goes through the extension codecs. cvm's codecs encode its own
//! nodes as tagged JSON: the raw table ([`RawTable`]) and its scan
//! ([`RawScanExec`]), the staged folder ingest inserts into
//! ([`StagedFolder`]) and its writer ([`StageWriteExec`]). Every other node
//! goes to Ballista's codecs, which cvm's replace on all three roles (a
//! codec set on a role is used instead of Ballista's, not beside it).
//! Functions travel by name, as Ballista's do, but for the one that holds
//! data: `cvm_known_subscriber` carries the run's subscriber ids
//! ([`SubscriberIds::encode`]), which an executor has no other way to know.
//! At a million lines that is about 14 MB in every plan of a staging task.
//!
//! The codecs live here, beside the stages whose nodes they carry, and
//! reach the engine's cluster processes as a value ([`plan_codecs`]): the
//! engine below cannot know the nodes of the layers above it.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use crate::engine::cluster::PlanCodecs;
use crate::engine::udf::known_subscriber::{KnownSubscriber, SubscriberIds};
use crate::job::Source;
use crate::stages::ingest::scan::{RawScan, RawScanExec, RawTable};
use crate::stages::ingest::stage_write::{StageWriteExec, StagedFolder};
use crate::stages::ingest::unary::only_input;
use crate::warehouse::published_table::{PublishedFiles, PublishedTable};

/// The first bytes of an encoded cvm node. Ballista's own nodes are
/// protobuf messages, whose first byte is never `c` (field 12, a group).
const TAG: &[u8] = b"cvm.node.v1\n";

/// cvm's nodes as the plans carry them. A physical node's inputs (the raw
/// scan's file list, the writer's rows) travel as plans of their own, and a
/// table's schema travels beside it.
#[derive(Serialize, Deserialize)]
enum Node {
    RawTable(RawScan),
    RawScan {
        source: Source,
        #[serde(with = "crate::stages::ingest::scan::type_names")]
        types: Vec<DataType>,
        bytes: u64,
        projection: Option<Vec<usize>>,
    },
    StagedFolder {
        folder: String,
    },
    StageWrite {
        folder: String,
    },
    PublishedTable(PublishedFiles),
}

fn encode(node: &Node, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(TAG);
    serde_json::to_writer(buf, node).map_err(|e| DataFusionError::Internal(format!("encoding a cvm plan node: {e}")))
}

/// The node behind the tag; None for bytes that are not cvm's.
fn decode(buf: &[u8]) -> Option<Result<Node>> {
    let json = buf.strip_prefix(TAG)?;
    Some(serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("decoding a cvm plan node: {e}"))))
}

fn unexpected(node: &Node, place: &str) -> DataFusionError {
    let name = match node {
        Node::RawTable(_) => "RawTable",
        Node::RawScan { .. } => "RawScanExec",
        Node::StagedFolder { .. } => "StagedFolder",
        Node::StageWrite { .. } => "StageWriteExec",
        Node::PublishedTable(_) => "PublishedTable",
    };
    DataFusionError::Internal(format!("cvm's {name} where a {place} was expected"))
}

/// A bound subscriber rule's ids; nothing for every other function (sent by name).
fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
    if let Some(ids) = node.inner().downcast_ref::<KnownSubscriber>().and_then(KnownSubscriber::ids) {
        buf.extend_from_slice(TAG);
        ids.encode(buf);
    }
    Ok(())
}

/// The function [`encode_udf`] wrote.
fn decode_udf(name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
    match buf.strip_prefix(TAG) {
        Some(ids) if name == KnownSubscriber::NAME => {
            let ids = SubscriberIds::decode(ids)
                .map_err(|e| DataFusionError::Internal(format!("decoding {name}'s subscriber ids: {e}")))?;
            Ok(Arc::new(ScalarUDF::from(KnownSubscriber::bound(Arc::new(ids)))))
        }
        _ => Err(DataFusionError::Internal(format!("no cvm function {name} to decode"))),
    }
}

/// cvm's codecs, for every role of a cluster: the run's client, `cvm
/// scheduler` and `cvm executor`.
pub fn plan_codecs() -> PlanCodecs {
    PlanCodecs { logical: Arc::new(CvmLogicalCodec::default()), physical: Arc::new(CvmPhysicalCodec::default()) }
}

/// The client's and the scheduler's logical codec.
#[derive(Debug, Default)]
pub struct CvmLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for CvmLogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode(buf).transpose()? {
            Some(Node::RawTable(scan)) => Ok(Arc::new(RawTable::new(scan))),
            Some(Node::StagedFolder { folder }) => Ok(Arc::new(StagedFolder { folder, schema })),
            Some(Node::PublishedTable(files)) => Ok(Arc::new(PublishedTable::new(files, schema))),
            Some(other) => Err(unexpected(&other, "table")),
            None => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(table) = node.downcast_ref::<RawTable>() {
            return encode(&Node::RawTable(table.scan().clone()), buf);
        }
        if let Some(table) = node.downcast_ref::<StagedFolder>() {
            return encode(&Node::StagedFolder { folder: table.folder.clone() }, buf);
        }
        if let Some(table) = node.downcast_ref::<PublishedTable>() {
            return encode(&Node::PublishedTable(table.files().clone()), buf);
        }
        self.ballista.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf)
    }
}

/// The physical codec of every role: the scheduler encodes the tasks' plans,
/// the executors decode them.
#[derive(Debug, Default)]
pub struct CvmPhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for CvmPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match decode(buf).transpose()? {
            Some(Node::RawScan { source, types, bytes, projection }) => {
                let files = only_input(inputs, "RawScanExec")?;
                Ok(Arc::new(RawScanExec::try_new(Arc::new(source), types, bytes, files, projection)?))
            }
            Some(Node::StageWrite { folder }) => {
                let rows = only_input(inputs, "StageWriteExec")?;
                Ok(Arc::new(StageWriteExec::try_new(rows, folder)?))
            }
            Some(other) => Err(unexpected(&other, "plan")),
            None => self.ballista.try_decode(buf, inputs, ctx, converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(exec) = node.downcast_ref::<RawScanExec>() {
            return encode(
                &Node::RawScan {
                    source: exec.source().clone(),
                    types: exec.types().to_vec(),
                    bytes: exec.bytes(),
                    projection: exec.projection().cloned(),
                },
                buf,
            );
        }
        if let Some(exec) = node.downcast_ref::<StageWriteExec>() {
            return encode(&Node::StageWrite { folder: exec.folder().to_string() }, buf);
        }
        self.ballista.try_encode(node, buf, converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf)
    }
}
