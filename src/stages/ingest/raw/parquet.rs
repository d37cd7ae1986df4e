//! Parquet extracts as raw rows: the contract's columns only, each in the
//! raw table's type, text trimmed as a CSV field is.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};

use super::{FileError, column_indexes, file_column, unreadable};
use crate::job::Source;

/// Which columns of a Parquet file a raw scan reads, and where each staged
/// column sits among them. Columns outside the contract are never read.
pub struct ParquetLayout {
    /// The file's top-level columns to read, in file order.
    pub projection: Vec<usize>,
    /// Per staged column: its position in a batch of the projection.
    staged: Vec<Option<usize>>,
}

/// The layout of a Parquet file whose Arrow schema is `schema`.
pub fn parquet_layout(source: &Source, file: &str, schema: &Schema) -> Result<ParquetLayout, FileError> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let in_file = column_indexes(source, file, &names)?.staged;
    let mut projection: Vec<usize> = in_file.iter().flatten().copied().collect();
    projection.sort_unstable();
    projection.dedup();
    let staged = in_file.iter().map(|i| i.and_then(|i| projection.iter().position(|p| *p == i))).collect();
    Ok(ParquetLayout { projection, staged })
}

/// A batch of a Parquet file (read with the layout's projection) as raw rows
/// in `schema`; `first_row` is the 0-based row of the batch's first row.
pub fn parquet_raw_batch(
    layout: &ParquetLayout,
    schema: &SchemaRef,
    file: &str,
    input: &RecordBatch,
    first_row: i64,
) -> Result<RecordBatch, FileError> {
    let n = input.num_rows();
    let mut columns: Vec<ArrayRef> = vec![
        file_column(file, n),
        Arc::new(Int64Array::from_iter_values(first_row + 1..=first_row + n as i64)),
        new_null_array(&DataType::Utf8, n),
        new_null_array(&DataType::Utf8, n),
    ];
    for (position, field) in layout.staged.iter().zip(schema.fields().iter().skip(4)) {
        let wanted = field.data_type();
        let column = match position {
            None => new_null_array(wanted, n),
            Some(i) => {
                let column = input.column(*i);
                let column = if column.data_type() == wanted {
                    column.clone()
                } else {
                    // a value that has no text form (or no such type) is null, as an empty field is
                    datafusion::arrow::compute::cast(column, wanted).map_err(|e| unreadable(file, e))?
                };
                if wanted == &DataType::Utf8 { trimmed(column) } else { column }
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| unreadable(file, e))
}

/// A text column with every value trimmed, as a CSV field is; the column
/// itself when no value needs it (the usual case: no copy).
fn trimmed(column: ArrayRef) -> ArrayRef {
    let strings = column.as_string::<i32>();
    // a value's ends decide: ASCII whitespace, or a non-ASCII byte that may
    // end a Unicode space (then the full check); one byte compared per end
    let needs_trim = |v: &str| {
        let may_need = |b: &u8| b.is_ascii_whitespace() || *b == 0x0B || !b.is_ascii();
        (v.as_bytes().first().is_some_and(may_need) || v.as_bytes().last().is_some_and(may_need))
            && v.trim().len() != v.len()
    };
    if !strings.iter().flatten().any(needs_trim) {
        return column;
    }
    Arc::new(strings.iter().map(|v| v.map(str::trim)).collect::<StringArray>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parquet_text_is_trimmed_as_csv_fields_are_and_left_alone_when_clean() {
        use datafusion::arrow::array::{Array, AsArray, StringArray};
        let clean: super::ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("voice"), None, Some("été")]));
        assert!(std::sync::Arc::ptr_eq(&super::trimmed(clean.clone()), &clean), "no copy when nothing needs it");
        for padded in [" voice", "voice\t", "\u{0B}voice", "voice\u{00A0}", "\u{2003}voice"] {
            let column: super::ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("sms"), Some(padded)]));
            let out = super::trimmed(column);
            assert_eq!(out.as_string::<i32>().value(1), "voice", "{padded:?}");
            assert_eq!(out.len(), 2);
        }
    }
}
