//! NumPy's `.npy` and `.npz` files: arrays to and from `numpy.save` / `numpy.load`.
//!
//! Supported element types ([`DType`]): `float32`, `float64`, `uint8`, `int32` and `int64`.
//! Arrays are written in C order, little-endian, with a version 1.0 header (numpy's own
//! default); reading also accepts big-endian data and Fortran order (converted to C order).
//! A `.npz` file is a zip archive of `.npy` files, as `numpy.savez` and
//! `numpy.savez_compressed` write it.
//!
//! Reading never trusts a header for an allocation: the header is at most
//! [`MAX_HEADER_LEN`] bytes with at most [`MAX_NDIM`] dimensions, the element count is
//! checked for overflow, and the data must be exactly as long as the shape says before
//! anything is allocated for it.
//!
//! ```
//! use kerust::npy::{read_npy, write_npy, DType};
//! use ndarray::array;
//!
//! let path = std::env::temp_dir().join(format!("kerust-npy-doc-{}.npy", std::process::id()));
//! let x = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! write_npy(&path, &x)?; // numpy.load(path) gives the same float32 array
//! let back = read_npy(&path)?;
//! assert_eq!(back.dtype(), DType::F32);
//! assert_eq!(back.shape(), &[2, 3]);
//! assert_eq!(back.into_f32(), x.into_dyn());
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::Write;
use std::path::Path;

use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data, Dimension, IxDyn};

use crate::{Error, Result};

mod header;
mod npz;

pub use header::{MAX_HEADER_LEN, MAX_NDIM};
pub use npz::{read_npz, write_npz, write_npz_compressed, Npz};

/// The element type of a `.npy` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// `float32`, descr `<f4`.
    F32,
    /// `float64`, descr `<f8`.
    F64,
    /// `uint8`, descr `|u1`.
    U8,
    /// `int32`, descr `<i4`.
    I32,
    /// `int64`, descr `<i8`.
    I64,
}

impl DType {
    /// NumPy's name of the type (`float32`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(kerust::npy::DType::U8.name(), "uint8");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::U8 => "uint8",
            DType::I32 => "int32",
            DType::I64 => "int64",
        }
    }

    /// The little-endian descr string of the header (`<f4`, `|u1`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(kerust::npy::DType::I64.descr(), "<i8");
    /// ```
    pub fn descr(self) -> &'static str {
        match self {
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::U8 => "|u1",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
        }
    }

    /// The size of one element in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(kerust::npy::DType::F64.size(), 8);
    /// ```
    pub fn size(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// An element type that `.npy` files hold: `f32`, `f64`, `u8`, `i32`, `i64`.
///
/// This trait is sealed; its methods are kerust's plumbing.
pub trait Element: Copy + Send + Sync + fmt::Debug + 'static + sealed::Sealed {
    /// The [`DType`] of this type.
    const DTYPE: DType;
    #[doc(hidden)]
    fn from_bytes(chunk: &[u8], big_endian: bool) -> Self;
    #[doc(hidden)]
    fn write_le(self, w: &mut impl Write) -> std::io::Result<()>;
    #[doc(hidden)]
    fn wrap(array: ArrayD<Self>) -> NpyArray;
    #[doc(hidden)]
    fn wrap_view(view: ArrayViewD<'_, Self>) -> NpyView<'_>;
    #[doc(hidden)]
    fn unwrap(array: NpyArray) -> std::result::Result<ArrayD<Self>, NpyArray>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn from_bytes(chunk: &[u8], big_endian: bool) -> Self {
                let bytes = chunk.try_into().expect("chunk of the element size");
                if big_endian {
                    <$t>::from_be_bytes(bytes)
                } else {
                    <$t>::from_le_bytes(bytes)
                }
            }
            fn write_le(self, w: &mut impl Write) -> std::io::Result<()> {
                w.write_all(&self.to_le_bytes())
            }
            fn wrap(array: ArrayD<Self>) -> NpyArray {
                NpyArray::$variant(array)
            }
            fn wrap_view(view: ArrayViewD<'_, Self>) -> NpyView<'_> {
                NpyView::$variant(view)
            }
            fn unwrap(array: NpyArray) -> std::result::Result<ArrayD<Self>, NpyArray> {
                match array {
                    NpyArray::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}

element!(f32, F32);
element!(f64, F64);
element!(u8, U8);
element!(i32, I32);
element!(i64, I64);

/// An array read from a `.npy` file, in the element type the file holds.
///
/// # Examples
///
/// ```
/// use kerust::npy::NpyArray;
/// use ndarray::array;
///
/// let labels = NpyArray::from(array![3i64, 1, 4]);
/// assert_eq!(labels.dtype().name(), "int64");
/// assert_eq!(labels.to_f32(), array![3.0f32, 1.0, 4.0].into_dyn());
/// assert!(labels.clone().into_array::<f32>().is_err()); // not float32: convert instead
/// assert_eq!(labels.into_array::<i64>()?, array![3i64, 1, 4].into_dyn());
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NpyArray {
    /// `float32` data.
    F32(ArrayD<f32>),
    /// `float64` data.
    F64(ArrayD<f64>),
    /// `uint8` data.
    U8(ArrayD<u8>),
    /// `int32` data.
    I32(ArrayD<i32>),
    /// `int64` data.
    I64(ArrayD<i64>),
}

/// A borrowed array of any supported element type, to write: what [`write_npy`] and
/// [`write_npz`] take. Made with `NpyView::from(&array)` or `(&array).into()` from any
/// `ndarray` array (owned or view, any dimension) or from an [`NpyArray`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NpyView<'a> {
    /// `float32` data.
    F32(ArrayViewD<'a, f32>),
    /// `float64` data.
    F64(ArrayViewD<'a, f64>),
    /// `uint8` data.
    U8(ArrayViewD<'a, u8>),
    /// `int32` data.
    I32(ArrayViewD<'a, i32>),
    /// `int64` data.
    I64(ArrayViewD<'a, i64>),
}

macro_rules! each {
    ($value:expr, $kind:ident, $a:ident => $body:expr) => {
        match $value {
            $kind::F32($a) => $body,
            $kind::F64($a) => $body,
            $kind::U8($a) => $body,
            $kind::I32($a) => $body,
            $kind::I64($a) => $body,
        }
    };
}

impl NpyArray {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            NpyArray::F32(_) => DType::F32,
            NpyArray::F64(_) => DType::F64,
            NpyArray::U8(_) => DType::U8,
            NpyArray::I32(_) => DType::I32,
            NpyArray::I64(_) => DType::I64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        each!(self, NpyArray, a => a.shape())
    }

    /// A copy converted to `f32` (as numpy's `astype(np.float32)`: nearest value).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            NpyArray::F32(a) => a.clone(),
            NpyArray::F64(a) => a.mapv(|v| v as f32),
            NpyArray::U8(a) => a.mapv(f32::from),
            NpyArray::I32(a) => a.mapv(|v| v as f32),
            NpyArray::I64(a) => a.mapv(|v| v as f32),
        }
    }

    /// The array converted to `f32`, without a copy when it already is.
    pub fn into_f32(self) -> ArrayD<f32> {
        match self {
            NpyArray::F32(a) => a,
            other => other.to_f32(),
        }
    }

    /// The array as `ArrayD<T>` when it holds exactly that type.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] naming both types when the file holds another type (convert
    /// with [`NpyArray::to_f32`] instead).
    pub fn into_array<T: Element>(self) -> Result<ArrayD<T>> {
        T::unwrap(self).map_err(|other| {
            Error::data(
                ".npy array",
                format!(
                    "holds {} values, not {} (use to_f32/into_f32 to convert)",
                    other.dtype(),
                    T::DTYPE
                ),
            )
        })
    }

    /// A borrowed view, for writing.
    pub fn view(&self) -> NpyView<'_> {
        NpyView::from(self)
    }
}

impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for NpyArray {
    fn from(array: ndarray::Array<T, D>) -> Self {
        T::wrap(array.into_dyn())
    }
}

impl<'a> From<&'a NpyArray> for NpyView<'a> {
    fn from(array: &'a NpyArray) -> Self {
        match array {
            NpyArray::F32(a) => NpyView::F32(a.view()),
            NpyArray::F64(a) => NpyView::F64(a.view()),
            NpyArray::U8(a) => NpyView::U8(a.view()),
            NpyArray::I32(a) => NpyView::I32(a.view()),
            NpyArray::I64(a) => NpyView::I64(a.view()),
        }
    }
}

impl<'a, T, S, D> From<&'a ArrayBase<S, D>> for NpyView<'a>
where
    T: Element,
    S: Data<Elem = T>,
    D: Dimension,
{
    fn from(array: &'a ArrayBase<S, D>) -> Self {
        T::wrap_view(array.view().into_dyn())
    }
}

impl NpyView<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            NpyView::F32(_) => DType::F32,
            NpyView::F64(_) => DType::F64,
            NpyView::U8(_) => DType::U8,
            NpyView::I32(_) => DType::I32,
            NpyView::I64(_) => DType::I64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        each!(self, NpyView, a => a.shape())
    }

    /// The size of the `.npy` encoding in bytes (header and data).
    pub(crate) fn encoded_len(&self) -> u64 {
        let h = header::format(self.dtype(), self.shape()).len() as u64;
        h + (self.shape().iter().product::<usize>() * self.dtype().size()) as u64
    }

    /// Writes the `.npy` encoding (header, then the data in C order) to `w`.
    pub(crate) fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&header::format(self.dtype(), self.shape()))?;
        each!(self, NpyView, a => write_elements(a, w))
    }
}

fn write_elements<T: Element>(a: &ArrayViewD<'_, T>, w: &mut impl Write) -> std::io::Result<()> {
    match a.as_slice() {
        // Standard layout: one pass over contiguous memory.
        Some(slice) => {
            let mut buf = Vec::with_capacity(1 << 16);
            for chunk in slice.chunks(1 << 14) {
                buf.clear();
                for &v in chunk {
                    v.write_le(&mut buf)?;
                }
                w.write_all(&buf)?;
            }
            Ok(())
        }
        // Any other layout: the logical (C) order.
        _ => a.iter().try_for_each(|&v| v.write_le(w)),
    }
}

/// The `.npy` encoding of an array: header and C-order little-endian data.
///
/// # Examples
///
/// ```
/// let bytes = kerust::npy::to_npy_bytes(&ndarray::array![1u8, 2, 3]);
/// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
/// assert_eq!(bytes.len(), 128 + 3);
/// assert_eq!(&bytes[128..], &[1, 2, 3]);
/// ```
pub fn to_npy_bytes<'a>(array: impl Into<NpyView<'a>>) -> Vec<u8> {
    let view = array.into();
    let mut out = Vec::with_capacity(usize::try_from(view.encoded_len()).unwrap_or(0));
    view.write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Writes an array to a `.npy` file, atomically (a temporary file renamed into place, so a
/// failed write leaves any old file intact and nothing half-written).
///
/// Any `ndarray` array (owned or view, any dimension, any memory layout) of `f32`, `f64`,
/// `u8`, `i32` or `i64`, or an [`NpyArray`], can be given by reference.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be written.
///
/// # Examples
///
/// ```
/// use kerust::npy::{read_npy, write_npy};
///
/// let path = std::env::temp_dir().join(format!("kerust-npy-write-{}.npy", std::process::id()));
/// let labels = ndarray::array![5u8, 0, 4];
/// write_npy(&path, &labels)?;
/// assert_eq!(read_npy(&path)?.into_array::<u8>()?, labels.into_dyn());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy<'a>(path: impl AsRef<Path>, array: impl Into<NpyView<'a>>) -> Result<()> {
    let view = array.into();
    crate::atomic::write_atomic(path.as_ref(), |w| view.write_to(w))
}

/// Reads a `.npy` file.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file for a bad
/// magic or version, a malformed or oversized header, an unsupported dtype (structured,
/// complex, object...), or data shorter or longer than the shape says.
///
/// # Examples
///
/// ```no_run
/// let x = kerust::npy::read_npy("x_train.npy")?.into_f32();
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(&bytes, &path.display().to_string())
}

/// Parses the bytes of a `.npy` file; `source` names them in error messages.
///
/// # Errors
///
/// As [`read_npy`], without the I/O errors.
///
/// # Examples
///
/// ```
/// use kerust::npy::{parse_npy, to_npy_bytes};
///
/// let bytes = to_npy_bytes(&ndarray::array![[1i32, 2], [3, 4]]);
/// let back = parse_npy(&bytes, "inline")?;
/// assert_eq!(back.shape(), &[2, 2]);
/// // Cut data: the error gives both lengths.
/// let err = parse_npy(&bytes[..bytes.len() - 1], "cut.npy").unwrap_err().to_string();
/// assert!(err.contains("cut.npy") && err.contains("16") && err.contains("15"), "{err}");
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn parse_npy(bytes: &[u8], source: &str) -> Result<NpyArray> {
    let format_err = |reason: String| Error::Format {
        format: ".npy",
        path: source.to_string(),
        reason,
    };
    let h = header::parse(bytes).map_err(format_err)?;
    let data = &bytes[h.data_offset..];
    let expected = h
        .len()
        .and_then(|n| n.checked_mul(h.dtype.size()))
        .ok_or_else(|| format_err(format!("the shape {:?} is too large", h.shape)))?;
    if data.len() != expected {
        return Err(format_err(format!(
            "the shape {:?} of {} needs {expected} data bytes, the file holds {}{}",
            h.shape,
            h.dtype,
            data.len(),
            if data.len() < expected {
                " (truncated)"
            } else {
                ""
            }
        )));
    }
    match h.dtype {
        DType::F32 => decode::<f32>(data, &h).map(NpyArray::F32),
        DType::F64 => decode::<f64>(data, &h).map(NpyArray::F64),
        DType::U8 => decode::<u8>(data, &h).map(NpyArray::U8),
        DType::I32 => decode::<i32>(data, &h).map(NpyArray::I32),
        DType::I64 => decode::<i64>(data, &h).map(NpyArray::I64),
    }
    .map_err(|e| format_err(e.to_string()))
}

fn decode<T: Element>(
    data: &[u8],
    h: &header::Header,
) -> std::result::Result<ArrayD<T>, ndarray::ShapeError> {
    let values: Vec<T> = data
        .chunks_exact(T::DTYPE.size())
        .map(|c| T::from_bytes(c, h.big_endian))
        .collect();
    if h.fortran_order {
        // Fortran-order data of shape s is the C-order data of the reversed shape, transposed.
        let reversed: Vec<usize> = h.shape.iter().rev().copied().collect();
        let a = ArrayD::from_shape_vec(IxDyn(&reversed), values)?.reversed_axes();
        Ok(a.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(IxDyn(&h.shape), values)
    }
}
