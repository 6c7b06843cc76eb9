//! The `.npy` header: magic, version, and the Python-literal dictionary that describes the
//! array (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`).
//!
//! The parser is a small bounded recursive-descent over at most [`MAX_HEADER_LEN`] bytes; it
//! never allocates from a declared size, and every number is checked for overflow.

use super::DType;

/// The magic string every `.npy` file starts with.
pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// The longest header accepted (numpy itself refuses more than 10,000 bytes by default).
pub const MAX_HEADER_LEN: usize = 1 << 16;
/// The most dimensions accepted (numpy's own limit is 64).
pub const MAX_NDIM: usize = 64;

/// What a header describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub dtype: DType,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// The number of bytes before the data (magic, version, length, dictionary).
    pub data_offset: usize,
}

impl Header {
    /// The number of elements, or `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }
}

/// Parses the header at the start of `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(format!(
            "not a .npy file: it does not start with the magic \\x93NUMPY ({} bytes)",
            bytes.len()
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("the header is truncated".to_string());
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(len).unwrap_or(usize::MAX), 12)
        }
        _ => {
            return Err(format!(
                "format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
            ))
        }
    };
    if len > MAX_HEADER_LEN {
        return Err(format!(
            "the header declares {len} bytes, more than the {MAX_HEADER_LEN} accepted"
        ));
    }
    let end = start + len;
    if bytes.len() < end {
        return Err(format!(
            "the header is truncated: it declares {len} bytes, the file holds {}",
            bytes.len() - start
        ));
    }
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| "the header is not ASCII/UTF-8 text".to_string())?;
    let mut header = parse_dict(text)?;
    header.data_offset = end;
    Ok(header)
}

/// Formats the header (magic to final newline) of a C-order array, padded to 64 bytes.
pub(crate) fn format(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let shape_text = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        dtype.descr()
    );
    // Version 1.0 holds a u16 length; 2.0 a u32 for (absurdly) long shapes.
    let prefix = if dict.len() + 11 <= u16::MAX as usize {
        10
    } else {
        12
    };
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    dict.extend(std::iter::repeat_n(' ', total - prefix - dict.len() - 1));
    dict.push('\n');
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    if prefix == 10 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A value of the header dictionary.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(x) => Err(format!(
                "header dictionary: expected '{}' at byte {}, found '{}'",
                c as char,
                self.i,
                x.escape_ascii()
            )),
            None => Err(format!(
                "header dictionary: expected '{}', found the end",
                c as char
            )),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "header dictionary: expected a string at byte {}",
                    self.i
                ))
            }
        };
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != quote {
            if self.s[self.i] == b'\\' {
                return Err("header dictionary: escapes in strings are not supported".to_string());
            }
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err("header dictionary: unterminated string".to_string());
        }
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(text)
    }

    fn int(&mut self) -> Result<u64, String> {
        self.skip_ws();
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or_else(|| "header dictionary: a dimension overflows".to_string())?;
            self.i += 1;
        }
        if self.i == start {
            return Err(format!(
                "header dictionary: expected a non-negative integer at byte {}",
                self.i
            ));
        }
        // Python 2 long suffix.
        if matches!(self.s.get(self.i), Some(b'L' | b'l')) {
            self.i += 1;
        }
        Ok(v)
    }

    fn word(&mut self) -> &[u8] {
        self.skip_ws();
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Value::Str),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.peek() == Some(b')') {
                        self.i += 1;
                        break;
                    }
                    if dims.len() == MAX_NDIM {
                        return Err(format!("the shape has more than {MAX_NDIM} dimensions"));
                    }
                    dims.push(self.int()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {}
                        _ => return Err("header dictionary: malformed shape tuple".to_string()),
                    }
                }
                Ok(Value::Tuple(dims))
            }
            Some(b'[') => Err(
                "structured dtypes (a list as 'descr') are not supported; save a plain array"
                    .to_string(),
            ),
            _ => match self.word() {
                b"True" => Ok(Value::Bool(true)),
                b"False" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "header dictionary: unexpected value at byte {}",
                    self.i
                )),
            },
        }
    }
}

fn parse_dict(text: &str) -> Result<Header, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        if p.peek() == Some(b'}') {
            p.i += 1;
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        let value = p.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(format!(
                    "header dictionary: '{key}' has a value of the wrong type"
                ))
            }
            _ => {} // Unknown keys are ignored.
        }
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            _ => return Err("header dictionary: expected ',' or '}'".to_string()),
        }
    }
    if p.peek().is_some() {
        return Err(format!(
            "header dictionary: unexpected text after '}}' at byte {}",
            p.i
        ));
    }
    let descr = descr.ok_or("header dictionary: no 'descr' key")?;
    let fortran_order = fortran.ok_or("header dictionary: no 'fortran_order' key")?;
    let shape = shape.ok_or("header dictionary: no 'shape' key")?;
    let (dtype, big_endian) = parse_descr(&descr)?;
    let shape = shape
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| format!("dimension {d} is too large")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header {
        dtype,
        big_endian,
        fortran_order,
        shape,
        data_offset: 0,
    })
}

/// Parses a dtype string such as `<f4`, `|u1` or `>i8`.
fn parse_descr(descr: &str) -> Result<(DType, bool), String> {
    let unsupported = || {
        format!(
            "dtype '{descr}' is not supported; kerust reads float32 (<f4), float64 (<f8), \
             uint8 (|u1), int32 (<i4) and int64 (<i8)"
        )
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => descr.split_at(1),
        _ => ("=", descr),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "u1" | "B" => DType::U8,
        "i4" => DType::I32,
        "i8" => DType::I64,
        _ => return Err(unsupported()),
    };
    let big_endian = match order {
        ">" => true,
        "<" | "|" => false,
        _ => cfg!(target_endian = "big"), // '=' is native order
    };
    if order == "|" && dtype.size() != 1 {
        return Err(unsupported());
    }
    Ok((dtype, big_endian))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_variants() {
        let h =
            parse_dict("{'descr': '<f8', 'fortran_order': True, 'shape': (3L, 4), }  \n").unwrap();
        assert_eq!(
            (h.dtype, h.fortran_order, h.shape),
            (DType::F64, true, vec![3, 4])
        );
        let h = parse_dict("{\"shape\":(),\"fortran_order\":False,\"descr\":\"|u1\"}").unwrap();
        assert_eq!((h.dtype, h.shape.len()), (DType::U8, 0));
        let h = parse_dict("{'descr': '>i4', 'fortran_order': False, 'shape': (5,)}").unwrap();
        assert!(h.big_endian);
        for bad in [
            "",
            "{",
            "{'descr': '<f4'}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",
            "{'descr': '<f4 ",
        ] {
            assert!(parse_dict(bad).is_err(), "{bad}");
        }
        let deep = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
            "1,".repeat(65)
        );
        assert!(parse_dict(&deep).unwrap_err().contains("64"));
    }

    #[test]
    fn formatted_header_is_aligned_and_parses() {
        for shape in [vec![], vec![7], vec![2, 3, 4]] {
            let h = format(DType::I64, &shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            let back = parse(&h).unwrap();
            assert_eq!(
                (back.dtype, back.shape, back.data_offset),
                (DType::I64, shape, h.len())
            );
        }
    }
}
