//! The `.keras` zip container through the `zip` crate, read with limits: a member is read
//! only up to the size its header declares, and a member declaring more than deflate
//! could produce from its stored bytes is refused before anything is allocated.

use crate::{Error, Result};
use std::io::{Cursor, Read, Write};

/// Deflate expands at most about 1032 times; a member claiming more is a bomb.
const MAX_EXPANSION: u64 = 1032;

fn ferr(file: &str, reason: impl Into<String>) -> Error {
    Error::Format {
        format: ".keras",
        path: file.to_string(),
        reason: reason.into(),
    }
}

/// The members of a `.keras` archive, read on demand.
pub(crate) struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    file: &'a str,
}

impl<'a> Archive<'a> {
    pub(crate) fn open(bytes: &'a [u8], file: &'a str) -> Result<Self> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ferr(file, format!("not a readable zip archive: {e}")))?;
        Ok(Archive { zip, file })
    }

    /// Whether the archive has a member of that name.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// A member's bytes; an error when it is missing, encrypted, larger than `max` or than
    /// its stored bytes can honestly produce, or corrupted (CRC).
    pub(crate) fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>> {
        let file = self.file;
        let mut m = self
            .zip
            .by_name(name)
            .map_err(|e| ferr(file, format!("member '{name}': {e}")))?;
        if m.encrypted() {
            return Err(ferr(file, format!("member '{name}' is encrypted")));
        }
        let declared = m.size();
        let stored = m.compressed_size();
        let limit = stored.saturating_mul(MAX_EXPANSION).saturating_add(1024);
        if declared > max {
            return Err(ferr(
                file,
                format!("member '{name}' declares {declared} bytes, more than the {max} allowed"),
            ));
        }
        if declared > limit {
            return Err(ferr(
                file,
                format!(
                    "member '{name}' declares {declared} bytes from {stored} stored bytes; refusing a decompression bomb"
                ),
            ));
        }
        let mut out = Vec::with_capacity(usize::try_from(declared.min(1 << 26)).unwrap_or(0));
        (&mut m)
            .take(declared.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| ferr(file, format!("member '{name}' is corrupted: {e}")))?;
        if out.len() as u64 != declared {
            return Err(ferr(
                file,
                format!(
                    "member '{name}' holds {} bytes, its header declares {declared}",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    /// A member that must be JSON, of at most 64 MiB.
    pub(crate) fn read_json(&mut self, name: &str) -> Result<serde_json::Value> {
        let bytes = self.read(name, 64 << 20)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ferr(self.file, format!("member '{name}' is not valid JSON: {e}")))
    }
}

/// A zip archive of `members`, stored uncompressed as Keras writes them.
pub(crate) fn write(members: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let total: usize = members.iter().map(|(_, b)| b.len() + 128).sum();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(total + 512)));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(total as u64 >= u32::MAX as u64);
    let zerr =
        |e: zip::result::ZipError| Error::arg("path", format!("cannot write the zip archive: {e}"));
    for (name, bytes) in members {
        w.start_file(*name, options).map_err(zerr)?;
        w.write_all(bytes)
            .map_err(|e| Error::arg("path", format!("cannot write the zip archive: {e}")))?;
    }
    Ok(w.finish().map_err(zerr)?.into_inner())
}
