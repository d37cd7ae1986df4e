//! How cvm's extract scan travels on a cluster. The client sends its logical
//! plan to the scheduler, which plans it and sends each task's physical plan
//! to an executor; both hops are protobuf, and a plan node DataFusion does
//! not know goes through the extension codecs. cvm's codecs encode its raw
//! table ([`RawTable`]) and scan ([`RawScanExec`]) as tagged JSON of their
//! [`RawScan`] and hand every other node to Ballista's codecs, which they
//! replace on all three roles (a codec set on a role is used instead of
//! Ballista's, not beside it).

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use crate::ingest::scan::{RawScan, RawScanExec, RawTable};
use crate::job::Source;

/// The first bytes of an encoded raw table or scan. Ballista's own nodes are
/// protobuf messages, whose first byte is never `c` (field 12, a group).
const TAG: &[u8] = b"cvm.raw_scan.v1\n";

/// A raw scan as the physical plan carries it (its file list is its input,
/// which the plan carries as a plan of its own).
#[derive(Serialize, Deserialize)]
struct ScanNode {
    source: Source,
    projection: Option<Vec<usize>>,
}

fn encode<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(TAG);
    serde_json::to_writer(buf, value).map_err(|e| DataFusionError::Internal(format!("encoding cvm's raw scan: {e}")))
}

/// The value behind the tag; None for bytes that are not cvm's.
fn decode<T: for<'de> Deserialize<'de>>(buf: &[u8]) -> Option<Result<T>> {
    let json = buf.strip_prefix(TAG)?;
    Some(serde_json::from_slice(json).map_err(|e| DataFusionError::Internal(format!("decoding cvm's raw scan: {e}"))))
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
        match decode::<RawScan>(buf) {
            Some(scan) => Ok(Arc::new(RawTable::new(scan?))),
            None => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<RawTable>() {
            Some(table) => encode(table.scan(), buf),
            None => self.ballista.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udwf(node, buf)
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
        match decode::<ScanNode>(buf) {
            Some(node) => {
                let node = node?;
                let [files] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "cvm's raw scan has one input, not {}",
                        inputs.len()
                    )));
                };
                Ok(Arc::new(RawScanExec::try_new(Arc::new(node.source), files.clone(), node.projection)?))
            }
            None => self.ballista.try_decode(buf, inputs, ctx, converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        match node.downcast_ref::<RawScanExec>() {
            Some(exec) => {
                encode(&ScanNode { source: exec.source().clone(), projection: exec.projection().cloned() }, buf)
            }
            None => self.ballista.try_encode(node, buf, converter),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}
