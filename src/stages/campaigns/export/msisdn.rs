//! How msisdn goes into an export: the job's policy checked against the
//! request, the HMAC that replaces it, and the restricted contacts table the
//! run keeps it in (the only copy of msisdn cvm keeps).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ExportError;
use crate::job::{Job, MsisdnPolicy};

/// How msisdn goes into one export.
#[derive(Debug, Clone)]
pub(super) enum Msisdn {
    Dropped,
    Hashed { key: Vec<u8> },
    Clear,
}

/// Checks the job's msisdn policy against the request; reads the HMAC key.
pub(super) fn msisdn_mode(job: &Job, with_msisdn: bool) -> Result<Msisdn, ExportError> {
    match (job.exports.msisdn, with_msisdn) {
        (MsisdnPolicy::Allow, true) => Ok(Msisdn::Clear),
        (_, true) => Err(ExportError::MsisdnNotAllowed { job: job.name.clone() }),
        (MsisdnPolicy::Hmac, false) => Ok(Msisdn::Hashed { key: hmac_key(job)? }),
        (_, false) => Ok(Msisdn::Dropped),
    }
}

/// The HMAC key from the job's environment variable; never a default.
pub fn hmac_key(job: &Job) -> Result<Vec<u8>, ExportError> {
    let variable = job.exports.hmac_key_env.clone();
    match std::env::var(&variable) {
        Ok(key) if !key.is_empty() => Ok(key.into_bytes()),
        _ => Err(ExportError::MissingKey { variable }),
    }
}

/// HMAC-SHA256 of a value, as lower-case hex.
pub fn hmac_hex(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    crate::job::hex(&mac.finalize().into_bytes())
}

/// The trailing msisdn column as the mode says: dropped, hashed or kept.
pub(super) fn personal_column(batch: RecordBatch, mode: &Msisdn) -> Result<RecordBatch, ExportError> {
    let last = batch.num_columns() - 1;
    let key = match mode {
        Msisdn::Clear => return Ok(batch),
        Msisdn::Dropped => {
            let kept: Vec<usize> = (0..last).collect();
            return Ok(batch.project(&kept).map_err(DataFusionError::from)?);
        }
        Msisdn::Hashed { key } => key,
    };
    let clear = batch.column(last).as_string::<i32>();
    let mut hashed = StringBuilder::new();
    for i in 0..clear.len() {
        if clear.is_null(i) {
            hashed.append_null();
        } else {
            hashed.append_value(hmac_hex(key, clear.value(i)));
        }
    }
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[last] = Field::new("msisdn_hmac", DataType::Utf8, true);
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[last] = Arc::new(hashed.finish());
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(DataFusionError::from)?)
}

/// The contacts file of a snapshot written by a cvm from before per-run files.
pub(super) const LEGACY_CONTACTS: &str = "part-0.parquet";

/// The name of a run's contacts file in a snapshot's folder (named as the
/// run's files in the tables are).
pub fn contacts_file(run_id: &str) -> String {
    format!("part-{run_id}-00000.parquet")
}

/// The restricted contacts table: the only place msisdn is kept.
pub fn contacts_schema() -> Schema {
    Schema::new(vec![Field::new("subscriber_id", DataType::Utf8, false), Field::new("msisdn", DataType::Utf8, true)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            hmac_hex(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
