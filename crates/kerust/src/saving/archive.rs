//! The `.keras` zip container through the `zip` crate, read with limits: a member is read
//! only up to the size its header declares, that size must be one its stored bytes can
//! honestly produce, and nothing larger is reserved.

use crate::{Error, Result};
use std::io::{Cursor, Read, Write};

/// Deflate expands at most about 1032 times; a member claiming more is a lie.
const MAX_EXPANSION: u64 = 1032;

/// The most a member may expand beyond [`EXPANSION_ALLOWANCE`]: 16 times its stored bytes.
/// Keras and kerust store members uncompressed (1x); re-zipped with deflate, float32
/// weights shrink less than 2x and configs about 4-17x (small files, which the allowance
/// covers: up to 30x for the HDF5 padding of a tiny weights file). A member inflating
/// further is taken for a decompression bomb before anything is allocated.
pub(crate) const SANE_EXPANSION: u64 = 16;

/// Bytes any member may expand to whatever its stored size (small files compress most).
pub(crate) const EXPANSION_ALLOWANCE: u64 = 256 << 10;

/// Most bytes of a JSON member (`config.json` of a Sequential model: about 1 KiB a layer).
pub(crate) const MAX_JSON_BYTES: u64 = 8 << 20;

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

    /// A member's bytes; an error when it is missing, encrypted, larger than `max`, larger
    /// than its stored bytes can honestly produce (or sanely: [`SANE_EXPANSION`]), or
    /// corrupted (CRC). At most the declared size (so at most `max`) is allocated.
    pub(crate) fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>> {
        let declared = self.check(name, max)?;
        let file = self.file;
        let mut m = self
            .zip
            .by_name(name)
            .map_err(|e| ferr(file, format!("member '{name}': {e}")))?;
        // One byte more than declared, so that a member inflating past its header is seen
        // without the buffer growing.
        let cap = usize::try_from(declared)
            .ok()
            .and_then(|d| d.checked_add(1))
            .ok_or_else(|| ferr(file, format!("member '{name}' is too large")))?;
        let mut out = Vec::new();
        out.try_reserve_exact(cap).map_err(|_| {
            ferr(
                file,
                format!("member '{name}': cannot allocate its {declared} bytes"),
            )
        })?;
        (&mut m)
            .take(declared.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| ferr(file, format!("member '{name}' is corrupted: {e}")))?;
        if out.len() as u64 != declared {
            return Err(ferr(
                file,
                format!(
                    "member '{name}' holds {} bytes, its header declares {declared}",
                    if out.len() as u64 > declared {
                        "more".to_string()
                    } else {
                        out.len().to_string()
                    }
                ),
            ));
        }
        Ok(out)
    }

    /// The checks of [`Archive::read`] without reading: the member's declared size, once
    /// it is known to be readable within `max` and without a bomb's expansion.
    pub(crate) fn check(&mut self, name: &str, max: u64) -> Result<u64> {
        let file = self.file;
        let m = self
            .zip
            .by_name(name)
            .map_err(|e| ferr(file, format!("member '{name}': {e}")))?;
        if m.encrypted() {
            return Err(ferr(file, format!("member '{name}' is encrypted")));
        }
        let declared = m.size();
        let stored = m.compressed_size();
        if declared > max {
            return Err(ferr(
                file,
                format!("member '{name}' declares {declared} bytes, more than the {max} allowed"),
            ));
        }
        let physical = stored.saturating_mul(MAX_EXPANSION).saturating_add(1024);
        let sane = stored
            .saturating_mul(SANE_EXPANSION)
            .saturating_add(EXPANSION_ALLOWANCE);
        if declared > physical.min(sane) {
            return Err(ferr(
                file,
                format!(
                    "member '{name}' declares {declared} bytes from {stored} stored bytes, more than \
                     {SANE_EXPANSION}x + {EXPANSION_ALLOWANCE} bytes (Keras stores members \
                     uncompressed); refusing a likely decompression bomb"
                ),
            ));
        }
        Ok(declared)
    }

    /// A member that must be JSON, of at most [`MAX_JSON_BYTES`].
    pub(crate) fn read_json(&mut self, name: &str) -> Result<serde_json::Value> {
        let bytes = self.read(name, MAX_JSON_BYTES)?;
        super::config::parse_json(&bytes)
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
