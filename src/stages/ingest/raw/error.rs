//! A file that cannot be ingested at all, and how to find it again in the
//! text a Ballista task's error reaches the client as.

/// A file that cannot be ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: missing required column '{column}'{}", mapped_note(.column, .source_column))]
    MissingColumn { file: String, column: String, source_column: String },
    #[error("{file}: unreadable: {message}")]
    Unreadable { file: String, message: String },
}

impl FileError {
    /// The file error whose `Debug` form appears in `text`, if one does.
    /// Ballista hands a task's error to the client only as text, written
    /// with `Debug`: this takes the error back, so a cluster run reports a
    /// file's failure in the same words as a local run.
    pub fn find_in_debug_text(text: &str) -> Option<FileError> {
        for variant in ["MissingColumn { ", "Unreadable { "] {
            let Some(at) = text.find(variant) else { continue };
            let mut rest = &text[at + variant.len()..];
            let mut fields = std::collections::BTreeMap::new();
            loop {
                let (name, after) = rest.split_once(": ")?;
                let (value, after) = debug_string(after)?;
                fields.insert(name, value);
                match after.strip_prefix(", ") {
                    Some(next) => rest = next,
                    None if after.starts_with(" }") => break,
                    None => return None,
                }
            }
            let mut take = |name: &str| fields.remove(name);
            return Some(match variant {
                "MissingColumn { " => FileError::MissingColumn {
                    file: take("file")?,
                    column: take("column")?,
                    source_column: take("source_column")?,
                },
                _ => FileError::Unreadable { file: take("file")?, message: take("message")? },
            });
        }
        None
    }
}

/// A string literal as `Debug` writes it, at the start of `text`: its value
/// and the text after it.
fn debug_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                '0' => value.push('\0'),
                'u' => {
                    let mut hex = String::new();
                    chars.next().filter(|(_, c)| *c == '{')?;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        hex.push(c);
                    }
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

fn mapped_note(column: &str, source_column: &str) -> String {
    if column == source_column { String::new() } else { format!(" (mapped from '{source_column}')") }
}

#[cfg(test)]
mod tests {
    use super::FileError;

    #[test]
    fn a_file_error_is_found_again_in_its_debug_text() {
        let errors = [
            FileError::MissingColumn {
                file: "s3://landing/billing/dt=2026-11-23/part-0.csv".into(),
                column: "net_amount".into(),
                source_column: "amount".into(),
            },
            FileError::Unreadable {
                file: "file:///in/cdr/a \"b\".csv.gz".into(),
                message: "corrupt deflate stream\n\tat byte 3 { } é\u{1}".into(),
            },
        ];
        for error in errors {
            let text = format!("Job failed: Task failed: DataFusionError(Shared(External({error:?})))");
            let found = FileError::find_in_debug_text(&text).expect("found");
            assert_eq!(found.to_string(), error.to_string());
        }
        assert!(FileError::find_in_debug_text("Execution error: Job failed: out of memory").is_none());
    }
}
