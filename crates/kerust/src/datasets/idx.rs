//! A parser for IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or not.
//!
//! An IDX file is a big-endian header followed by raw `u8` data:
//!
//! | file   | header (big-endian `u32`s)            | data                        |
//! |--------|---------------------------------------|-----------------------------|
//! | images | magic `2051`, count, rows, cols       | `count * rows * cols` bytes |
//! | labels | magic `2049`, count                   | `count` bytes               |
//!
//! The parsers accept the bytes of a gzip stream (recognised by its `1f 8b` signature) or of a
//! plain IDX file. They never trust the header for an allocation: the declared payload must be
//! at most [`MAX_PAYLOAD_BYTES`], and the buffer grows only with data actually decompressed.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use ndarray::{Array1, Array3};

use crate::{Error, Result};

/// Magic number of an IDX file of unsigned-byte images (`0x00000803`: type `u8`, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of unsigned-byte labels (`0x00000801`: type `u8`, 1 dimension).
pub const LABELS_MAGIC: u32 = 2049;
/// The largest payload (bytes after the header) the parsers accept: 1 GiB.
///
/// The largest real file, Fashion-MNIST's training images, holds 47,040,000 bytes.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The largest expansion ratio of a deflate stream (a bound on what compressed bytes can hold).
const MAX_DEFLATE_RATIO: usize = 1032;
const FORMAT: &str = "IDX";

fn format_err(source: &str, reason: impl Into<String>) -> Error {
    Error::Format {
        format: FORMAT,
        path: source.to_string(),
        reason: reason.into(),
    }
}

/// Parses the bytes of an IDX image file (magic 2051) into an array of shape `(count, rows, cols)`.
///
/// `bytes` may be gzip-compressed (as distributed) or plain IDX. `source` names the bytes in
/// error messages (usually the file path).
///
/// # Errors
///
/// [`Error::Format`] when the gzip stream is corrupt or truncated, the magic number is not 2051,
/// the header is shorter than 16 bytes, the declared size exceeds [`MAX_PAYLOAD_BYTES`], or the
/// data holds fewer or more bytes than the header declares (the message gives both lengths).
///
/// # Examples
///
/// ```
/// use kerust::datasets::idx::parse_idx_images;
///
/// // Two 2x3 images, uncompressed.
/// let mut bytes = Vec::new();
/// for v in [2051u32, 2, 2, 3] {
///     bytes.extend_from_slice(&v.to_be_bytes());
/// }
/// bytes.extend(0u8..12);
/// let images = parse_idx_images(&bytes, "two-images.idx")?;
/// assert_eq!(images.shape(), &[2, 2, 3]);
/// assert_eq!(images[[1, 0, 2]], 8);
///
/// // A truncated payload is an error that names the source and both lengths.
/// let err = parse_idx_images(&bytes[..20], "cut.idx").unwrap_err().to_string();
/// assert!(err.contains("cut.idx") && err.contains("12") && err.contains('4'));
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn parse_idx_images(bytes: &[u8], source: &str) -> Result<Array3<u8>> {
    let (dims, data) = parse_idx(bytes, source, IMAGES_MAGIC)?;
    let shape = (dims[0], dims[1], dims[2]);
    Array3::from_shape_vec(shape, data).map_err(|e| {
        format_err(
            source,
            format!("cannot form an array of shape {shape:?}: {e}"),
        )
    })
}

/// Parses the bytes of an IDX label file (magic 2049) into an array of shape `(count,)`.
///
/// `bytes` may be gzip-compressed or plain IDX; `source` names them in error messages.
///
/// # Errors
///
/// [`Error::Format`] for a corrupt or truncated gzip stream, a magic number other than 2049,
/// a header shorter than 8 bytes, a declared size above [`MAX_PAYLOAD_BYTES`], or a data length
/// that differs from the declared count.
///
/// # Examples
///
/// ```
/// use kerust::datasets::idx::parse_idx_labels;
///
/// let mut bytes = Vec::new();
/// bytes.extend_from_slice(&2049u32.to_be_bytes());
/// bytes.extend_from_slice(&3u32.to_be_bytes());
/// bytes.extend_from_slice(&[5, 0, 4]);
/// let labels = parse_idx_labels(&bytes, "labels.idx")?;
/// assert_eq!(labels.to_vec(), vec![5, 0, 4]);
///
/// // An image file given as labels: the error says which magic was expected.
/// bytes[3] = 3; // magic 2051
/// assert!(parse_idx_labels(&bytes, "labels.idx").is_err());
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn parse_idx_labels(bytes: &[u8], source: &str) -> Result<Array1<u8>> {
    let (_, data) = parse_idx(bytes, source, LABELS_MAGIC)?;
    Ok(Array1::from_vec(data))
}

/// Reads and parses an IDX image file (gzip-compressed or not); see [`parse_idx_images`].
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, and the errors of [`parse_idx_images`], which
/// name the file.
///
/// # Examples
///
/// ```no_run
/// let images = kerust::datasets::idx::read_idx_images("mnist/t10k-images-idx3-ubyte.gz")?;
/// assert_eq!(images.shape(), &[10000, 28, 28]);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Array3<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx_images(&bytes, &path.display().to_string())
}

/// Reads and parses an IDX label file (gzip-compressed or not); see [`parse_idx_labels`].
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, and the errors of [`parse_idx_labels`], which
/// name the file.
///
/// # Examples
///
/// ```no_run
/// let labels = kerust::datasets::idx::read_idx_labels("mnist/t10k-labels-idx1-ubyte.gz")?;
/// assert_eq!(labels.len(), 10000);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Array1<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx_labels(&bytes, &path.display().to_string())
}

/// What the expected magic number describes, for messages.
fn describe_magic(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "an IDX image file",
        LABELS_MAGIC => "an IDX label file",
        _ => "an IDX file",
    }
}

/// Reads from `reader` until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Parses an IDX file of `u8` data with the given magic; returns its dimensions and data.
fn parse_idx(bytes: &[u8], source: &str, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let gzipped = bytes.starts_with(&GZIP_MAGIC);
    if gzipped {
        let mut reader = GzDecoder::new(bytes);
        parse_stream(&mut reader, source, magic, true, bytes.len())
    } else {
        let mut reader = bytes;
        parse_stream(&mut reader, source, magic, false, bytes.len())
    }
}

fn stream_err(source: &str, gzipped: bool, after: &str, e: &std::io::Error) -> Error {
    if gzipped {
        format_err(
            source,
            format!("gzip decompression failed {after}: {e} (the file is corrupt or truncated)"),
        )
    } else {
        format_err(source, format!("read failed {after}: {e}"))
    }
}

fn parse_stream(
    reader: &mut impl Read,
    source: &str,
    magic: u32,
    gzipped: bool,
    input_len: usize,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let ndims: usize = if magic == IMAGES_MAGIC { 3 } else { 1 };
    let header_len = 4 * (1 + ndims);
    let what = if gzipped { "decompressed data" } else { "file" };

    // Header.
    let mut header = [0u8; 16];
    let got = read_full(reader, &mut header[..header_len])
        .map_err(|e| stream_err(source, gzipped, "while reading the IDX header", &e))?;
    if got < 4 {
        return Err(format_err(
            source,
            format!(
                "the {what} holds {got} bytes; {} needs a {header_len}-byte header starting with magic {magic}",
                describe_magic(magic)
            ),
        ));
    }
    let word = |i: usize| {
        u32::from_be_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ])
    };
    let found = word(0);
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC => " (this is an IDX image file)".to_string(),
            LABELS_MAGIC => " (this is an IDX label file)".to_string(),
            _ if !gzipped => format!(
                " (the data is neither gzip, which starts with bytes 1f 8b, nor IDX; first bytes: {})",
                header[..got.min(4)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => String::new(),
        };
        return Err(format_err(
            source,
            format!(
                "wrong magic number {found} (0x{found:08x}); expected {magic} (0x{magic:08x}) for {}{hint}",
                describe_magic(magic)
            ),
        ));
    }
    if got < header_len {
        return Err(format_err(
            source,
            format!(
                "truncated header: {} needs {header_len} header bytes, the {what} holds only {got}",
                describe_magic(magic)
            ),
        ));
    }

    // Dimensions and the payload size they declare, checked before any allocation.
    let dims_u32: Vec<u32> = (1..=ndims).map(word).collect();
    // At most 3 factors below 2^32: the product fits in a u128.
    let payload: u128 = dims_u32.iter().map(|&d| u128::from(d)).product();
    let dims_text = dims_u32
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    if payload > u128::from(MAX_PAYLOAD_BYTES) {
        return Err(format_err(
            source,
            format!(
                "the header declares {dims_text} = {payload} data bytes, more than the limit of {MAX_PAYLOAD_BYTES} bytes (1 GiB); the header is corrupt"
            ),
        ));
    }
    let dims: Vec<usize> = dims_u32
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format_err(source, "a dimension does not fit in usize on this platform"))?;
    let expected = usize::try_from(payload).map_err(|_| {
        format_err(
            source,
            "the data size does not fit in usize on this platform",
        )
    })?;

    // Payload: read at most one byte more than declared, to detect trailing data; preallocate
    // no more than the input could possibly hold.
    let could_hold = if gzipped {
        input_len.saturating_mul(MAX_DEFLATE_RATIO)
    } else {
        input_len.saturating_sub(header_len)
    };
    let mut data = Vec::with_capacity(expected.min(could_hold));
    let mut limited = reader.take(expected as u64 + 1);
    if let Err(e) = limited.read_to_end(&mut data) {
        return Err(stream_err(
            source,
            gzipped,
            &format!(
                "after {} of the {expected} data bytes declared by the header ({dims_text})",
                data.len()
            ),
            &e,
        ));
    }
    if data.len() < expected {
        return Err(format_err(
            source,
            format!(
                "truncated: the header declares {dims_text} = {expected} data bytes ({} bytes with the header), but the {what} holds only {} data bytes ({} with the header)",
                expected + header_len,
                data.len(),
                data.len() + header_len
            ),
        ));
    }
    if data.len() > expected {
        return Err(format_err(
            source,
            format!(
                "the {what} holds more than the {expected} data bytes ({} with the header) declared by the header ({dims_text}): trailing data",
                expected + header_len
            ),
        ));
    }
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn images_bytes(count: u32, rows: u32, cols: u32, payload: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IMAGES_MAGIC, count, rows, cols] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend((0..payload).map(|i| (i % 251) as u8));
        b
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_and_plain_agree() {
        let raw = images_bytes(3, 4, 5, 60);
        let a = parse_idx_images(&raw, "raw").unwrap();
        let b = parse_idx_images(&gz(&raw), "gz").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.shape(), &[3, 4, 5]);
        assert_eq!(a[[2, 3, 4]], 59);
    }

    #[test]
    fn errors() {
        // Empty input.
        let e = parse_idx_labels(&[], "empty").unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("0 bytes"), "{e}");
        // Header cut in the middle.
        let raw = images_bytes(1, 2, 2, 4);
        let e = parse_idx_images(&raw[..10], "h").unwrap_err().to_string();
        assert!(e.contains("truncated header"), "{e}");
        // Trailing bytes.
        let mut raw = images_bytes(1, 2, 2, 4);
        raw.push(0);
        let e = parse_idx_images(&raw, "t").unwrap_err().to_string();
        assert!(e.contains("trailing"), "{e}");
        // Huge header: rejected before reading.
        let raw = images_bytes(u32::MAX, u32::MAX, u32::MAX, 0);
        let e = parse_idx_images(&gz(&raw), "huge").unwrap_err().to_string();
        assert!(e.contains("1 GiB"), "{e}");
        // Zero-sized images are fine.
        let raw = images_bytes(0, 28, 28, 0);
        assert_eq!(parse_idx_images(&raw, "z").unwrap().shape(), &[0, 28, 28]);
    }
}
