//! A text extract's bytes as its readers get them: decompressed, and cut
//! at the first line longer than the source's limit.

use std::io::Read;

use super::{FileError, unreadable};
use crate::job::{Compression, Source};

pub(super) fn decompress(
    compression: Compression,
    file: &str,
    input: Box<dyn Read + Send>,
) -> Result<Box<dyn Read + Send>, FileError> {
    let by_name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    let compression = match compression {
        Compression::Auto if by_name.ends_with(".gz") || by_name.ends_with(".gzip") => Compression::Gzip,
        Compression::Auto if by_name.ends_with(".zst") || by_name.ends_with(".zstd") => Compression::Zstd,
        Compression::Auto => Compression::None,
        other => other,
    };
    let plain = std::io::BufReader::with_capacity(256 * 1024, input);
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(plain)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(plain).map_err(|e| unreadable(file, e))?)
        }
        _ => Box::new(plain),
    })
}

/// A text extract's decompressed bytes, failing at the first line longer
/// than `sources.<source>.max_line_bytes`: the readers buffer a whole line
/// (or record), so without a limit one endless line would take the
/// process's memory (a few MB of gzip can hold gigabytes of one line).
pub(super) struct LineLimit<R> {
    inner: R,
    limit: u64,
    key: String,
    /// bytes since the last line break
    in_line: u64,
    /// 1-based number of the line being read
    line: u64,
}

impl<R: Read> LineLimit<R> {
    pub(super) fn new(inner: R, source: &Source) -> Self {
        let key = format!("sources.{}.max_line_bytes", source.kind.name());
        LineLimit { inner, limit: source.max_line_bytes, key, in_line: 0, line: 1 }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let mut start = 0;
        for at in memchr::memchr_iter(b'\n', chunk) {
            // the line break itself does not count
            self.check(self.in_line + (at - start) as u64)?;
            self.line += 1;
            self.in_line = 0;
            start = at + 1;
        }
        self.in_line += (n - start) as u64;
        self.check(self.in_line)?;
        Ok(n)
    }
}

impl<R> LineLimit<R> {
    fn check(&self, line_bytes: u64) -> std::io::Result<()> {
        if line_bytes <= self.limit {
            return Ok(());
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "line {} is longer than {} bytes, the limit ({}); the file is not read further",
                self.line, self.limit, self.key
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    fn limited(text: &str, limit: u64) -> Result<String, String> {
        let mut source = crate::job::Job::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/demo.toml"),
            &Default::default(),
        )
        .unwrap()
        .source(crate::contract::SourceKind::Cdr)
        .clone();
        source.max_line_bytes = limit;
        let mut reader = super::LineLimit::new(std::io::Cursor::new(text.as_bytes().to_vec()), &source);
        let mut out = String::new();
        // a small buffer, so lines cross reads
        let mut buf = [0u8; 3];
        loop {
            match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    #[test]
    fn a_line_longer_than_the_limit_fails_naming_the_line_and_the_limit() {
        assert_eq!(limited("ab\r\ncdef\ng", 5), Ok("ab\r\ncdef\ng".into()), "5 bytes a line, the break not counted");
        assert_eq!(
            limited("ab\ncdefgh\ni", 5),
            Err("line 2 is longer than 5 bytes, the limit (sources.cdr.max_line_bytes); the file is not read further"
                .into())
        );
        assert!(limited("abcdefgh", 5).unwrap_err().starts_with("line 1 "), "a last line without a break counts too");
    }
}
