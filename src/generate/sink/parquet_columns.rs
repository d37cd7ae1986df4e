//! The Parquet side of a file: the Arrow type of each column kind, and
//! the column builders a batch of rows is appended to.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{BATCH_ROWS, Cell, Kind, Table};

pub(super) enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Money(Decimal128Builder),
    Time(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Float(Float64Builder),
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Money => DataType::Decimal128(18, 2),
        Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::Date => DataType::Date32,
        Kind::Float => DataType::Float64,
    }
}

/// The Arrow schema a table is written with in Parquet.
pub fn schema(table: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        table.columns.iter().map(|(name, kind)| Field::new(*name, data_type(*kind), true)).collect::<Vec<_>>(),
    ))
}

impl Builder {
    pub(super) fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Text => Builder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 12)),
            Kind::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Kind::Money => Builder::Money(Decimal128Builder::with_capacity(BATCH_ROWS)),
            Kind::Time => Builder::Time(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS)),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Kind::Float => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
        }
    }

    #[inline]
    pub(super) fn append(&mut self, cell: &Cell) {
        match (self, *cell) {
            (Builder::Text(b), Cell::Text(v) | Cell::Bad(v)) => b.append_value(v),
            (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
            (Builder::Money(b), Cell::Money(v)) => b.append_value(i128::from(v)),
            (Builder::Time(b), Cell::Time(v)) => b.append_value(v.utc_micros()),
            (Builder::Date(b), Cell::Date(v)) => b.append_value(v),
            (Builder::Float(b), Cell::Float(v)) => b.append_value(v),
            (b, _) => b.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Text(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Money(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
        }
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Money(b) => {
                Arc::new(b.finish().with_precision_and_scale(18, 2).expect("18, 2 is a valid decimal type"))
            }
            Builder::Time(b) => Arc::new(b.finish().with_timezone("UTC")),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Builder::Text(b) => b.len(),
            Builder::Int(b) => b.len(),
            Builder::Money(b) => b.len(),
            Builder::Time(b) => b.len(),
            Builder::Date(b) => b.len(),
            Builder::Float(b) => b.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::calendar;
    use crate::generate::sink::Stamp;

    #[test]
    fn parquet_values_read_back_as_ingest_reads_them() {
        // ingest casts every Parquet column to text and parses it like CSV
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::compute::cast;
        let t = Stamp { day: calendar::from_date("2026-07-01".parse().unwrap()), sec: 3600 * 12, offset: 120 };
        let cells = [Cell::Time(t), Cell::Money(1999), Cell::Date(t.day), Cell::Int(5), Cell::Bad("x"), Cell::Null];
        let kinds = [Kind::Time, Kind::Money, Kind::Date, Kind::Int, Kind::Time, Kind::Text];
        let text: Vec<Option<String>> = cells
            .iter()
            .zip(kinds)
            .map(|(cell, kind)| {
                let mut b = Builder::new(kind);
                b.append(cell);
                let array = cast(&b.finish(), &DataType::Utf8).unwrap();
                let s = array.as_string::<i32>();
                (!datafusion::arrow::array::Array::is_null(s, 0)).then(|| s.value(0).to_string())
            })
            .collect();
        let micros = crate::engine::udf::parse_timestamp(text[0].as_deref().unwrap(), "iso", &chrono_tz::UTC);
        assert_eq!(micros, Some(t.utc_micros()), "{text:?}");
        assert_eq!(text[1].as_deref(), Some("19.99"));
        assert_eq!(text[2].as_deref(), Some("2026-07-01"));
        assert_eq!(text[3].as_deref(), Some("5"));
        assert_eq!(text[4], None);
        assert_eq!(text[5], None);
    }
}
