//! `cvm_known_subscriber(subscriber_id)` -> BOOLEAN: whether the id is one of
//! the run's staged subscribers, the contract's subscriber rule that every
//! source but subscribers is checked against.
//!
//! The staging SQL used to join each extract to stg_subscribers for it. A
//! hash join builds its output by copying every column of every probe row,
//! which was a fifth of the CDR's ingest; a lookup in a set copies nothing.
//! Ingest binds the set once the subscribers are staged
//! ([`KnownSubscriber::bound`]). Unbound, the function fails the query, so a
//! source is never checked against an empty set by mistake. On a cluster the
//! set travels inside the plan ([`SubscriberIds::encode`], cluster/codec.rs).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{HashSet, Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// The ids of the run's staged subscribers.
#[derive(Debug, Default)]
pub struct SubscriberIds(HashSet<Box<str>>);

impl SubscriberIds {
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids as bytes: each one's length (u32, little-endian), then its text.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        for id in &self.0 {
            buf.extend_from_slice(&(id.len() as u32).to_le_bytes());
            buf.extend_from_slice(id.as_bytes());
        }
    }

    /// The ids of [`SubscriberIds::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Result<SubscriberIds, String> {
        let mut ids = HashSet::default();
        while !bytes.is_empty() {
            let (len, rest) = bytes.split_first_chunk::<4>().ok_or("a length cut short")?;
            let len = u32::from_le_bytes(*len) as usize;
            if rest.len() < len {
                return Err("an id cut short".into());
            }
            let (id, rest) = rest.split_at(len);
            ids.insert(std::str::from_utf8(id).map_err(|e| e.to_string())?.into());
            bytes = rest;
        }
        Ok(SubscriberIds(ids))
    }
}

impl<'a> FromIterator<&'a str> for SubscriberIds {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> Self {
        SubscriberIds(ids.into_iter().map(Box::from).collect())
    }
}

#[derive(Debug)]
pub struct KnownSubscriber {
    signature: Signature,
    ids: Option<Arc<SubscriberIds>>,
}

impl KnownSubscriber {
    pub const NAME: &str = "cvm_known_subscriber";

    /// The function before a run has staged its subscribers: it fails the query.
    pub fn unbound() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable), ids: None }
    }

    pub fn bound(ids: Arc<SubscriberIds>) -> Self {
        Self { ids: Some(ids), ..Self::unbound() }
    }

    pub fn ids(&self) -> Option<&Arc<SubscriberIds>> {
        self.ids.as_ref()
    }
}

// Two functions are the same when they hold the same set (not an equal one:
// comparing a million ids to plan a query would cost more than it saves).
impl PartialEq for KnownSubscriber {
    fn eq(&self, other: &Self) -> bool {
        match (&self.ids, &other.ids) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl Eq for KnownSubscriber {}

impl std::hash::Hash for KnownSubscriber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ids.as_ref().map(Arc::as_ptr).hash(state)
    }
}

impl ScalarUDFImpl for KnownSubscriber {
    fn name(&self) -> &str {
        Self::NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(known) = &self.ids else {
            return exec_err!("{} is called before the run has staged its subscribers", Self::NAME);
        };
        let ids = super::strings(&args, 0)?;
        let ids = ids.as_string::<i32>();
        // a missing id is no subscriber's (the join this replaces found no match for it either);
        // every row gets a verdict, so the result needs no validity buffer
        let known = BooleanBuffer::collect_bool(ids.len(), |i| ids.is_valid(i) && known.contains(ids.value(i)));
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(known, None))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{BooleanArray, RecordBatch, StringArray};
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    use super::{KnownSubscriber, SubscriberIds};

    #[test]
    fn ids_survive_their_encoding() {
        let ids: SubscriberIds = ["S1", "", "Søren-7", "x".repeat(300).as_str()].into_iter().collect();
        let mut bytes = Vec::new();
        ids.encode(&mut bytes);
        let back = SubscriberIds::decode(&bytes).unwrap();
        assert_eq!(back.len(), 4);
        assert!(back.contains("Søren-7") && back.contains("") && back.contains(&"x".repeat(300)));
        assert!(SubscriberIds::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[tokio::test]
    async fn known_ids_are_true_and_unknown_or_missing_ones_false() {
        let ctx = SessionContext::new();
        let rows = StringArray::from(vec![Some("S1"), Some("S9"), None, Some("S2")]);
        let batch = RecordBatch::try_from_iter([("id", Arc::new(rows) as _)]).unwrap();
        ctx.register_batch("t", batch).unwrap();

        ctx.register_udf(ScalarUDF::from(KnownSubscriber::unbound()));
        let unbound = ctx.sql("SELECT cvm_known_subscriber(id) FROM t").await.unwrap().collect().await;
        assert!(unbound.unwrap_err().to_string().contains("before the run has staged its subscribers"));

        let ids: SubscriberIds = ["S1", "S2"].into_iter().collect();
        ctx.register_udf(ScalarUDF::from(KnownSubscriber::bound(Arc::new(ids))));
        let out = ctx.sql("SELECT cvm_known_subscriber(id) FROM t").await.unwrap().collect().await.unwrap();
        let known = out[0].column(0).as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(known, &BooleanArray::from(vec![true, false, false, true]));
    }
}
