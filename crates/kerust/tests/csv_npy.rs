//! Tests of `kerust::datasets::csv` and `kerust::npy`: the user's own data files.
//!
//! The `.npy`/`.npz` fixtures in `tests/fixtures/npy/` were written by NumPy (see the README
//! there).

use std::path::{Path, PathBuf};

use kerust::datasets::csv::{load_csv, parse_csv, read_csv, Column, CsvOptions};
use kerust::npy::{
    parse_npy, read_npy, read_npz, to_npy_bytes, write_npy, write_npz, write_npz_compressed, DType,
    NpyArray, NpyView,
};
use kerust::Error;
use ndarray::{array, Array2, ArrayD, IxDyn};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

mod common;
use common::{data_root, temp_dir};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn csv(text: &str, options: &CsvOptions) -> kerust::Result<kerust::datasets::csv::CsvData> {
    parse_csv(text.as_bytes(), "test.csv", options)
}

// ---------------------------------------------------------------------------------------------
// .npy

#[test]
fn npy_reads_numpy_fixtures() {
    let a = read_npy(fixture("f32_2x3.npy")).unwrap();
    assert_eq!(a.dtype(), DType::F32);
    assert_eq!(
        a.into_array::<f32>().unwrap(),
        array![[-0.5f32, -0.25, 0.0], [0.25, 0.5, 0.75]].into_dyn()
    );

    // Fortran order is converted to C order.
    let f = read_npy(fixture("f64_fortran_3x2.npy"))
        .unwrap()
        .into_array::<f64>()
        .unwrap();
    assert_eq!(
        f,
        array![[1.5, -2.0], [3.25, 4.0], [1e300, -0.0]].into_dyn()
    );
    assert!(f.is_standard_layout());

    let u = read_npy(fixture("u8_4.npy")).unwrap();
    assert_eq!(u.dtype(), DType::U8);
    assert_eq!(u.to_f32(), array![0.0f32, 7.0, 128.0, 255.0].into_dyn());

    // Big-endian int32.
    let b = read_npy(fixture("i32_be_2x2.npy")).unwrap();
    assert_eq!(
        b.into_array::<i32>().unwrap(),
        array![[1, -2], [300000, i32::MIN]].into_dyn()
    );

    let s = read_npy(fixture("i64_scalar.npy")).unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(
        s.into_array::<i64>().unwrap(),
        ArrayD::from_elem(IxDyn(&[]), -42i64)
    );

    let e = read_npy(fixture("i64_empty_0x3.npy")).unwrap();
    assert_eq!((e.dtype(), e.shape()), (DType::I64, &[0usize, 3][..]));
}

#[test]
fn npy_bytes_are_identical_to_numpy_save() {
    // numpy.save writes exactly this: version 1.0, header padded to 64 bytes, C order.
    let a = array![[-0.5f32, -0.25, 0.0], [0.25, 0.5, 0.75]];
    let numpy = std::fs::read(fixture("f32_2x3.npy")).unwrap();
    assert_eq!(to_npy_bytes(&a), numpy);
    let u = array![0u8, 7, 128, 255];
    assert_eq!(
        to_npy_bytes(&u),
        std::fs::read(fixture("u8_4.npy")).unwrap()
    );
    let s = ArrayD::from_elem(IxDyn(&[]), -42i64);
    assert_eq!(
        to_npy_bytes(&s),
        std::fs::read(fixture("i64_scalar.npy")).unwrap()
    );
    let e = ndarray::Array2::<i64>::zeros((0, 3));
    assert_eq!(
        to_npy_bytes(&e),
        std::fs::read(fixture("i64_empty_0x3.npy")).unwrap()
    );
}

#[test]
fn npy_round_trip_every_dtype_and_layout() {
    let dir = temp_dir("npy-rt");
    let m = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 - 5.5);
    let cases: Vec<NpyArray> = vec![
        m.mapv(|v| v as f32).into(),
        m.clone().into(),
        m.mapv(|v| (v + 6.0) as u8).into(),
        m.mapv(|v| (v * 1000.0) as i32).into(),
        m.mapv(|v| (v as i64) << 40).into(),
        array![f32::NAN, f32::INFINITY, -0.0, f32::MIN_POSITIVE].into(),
        ArrayD::<f32>::zeros(IxDyn(&[2, 0, 3])).into(),
        ArrayD::from_elem(IxDyn(&[]), 2.5f64).into(),
    ];
    for (i, case) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.npy"));
        write_npy(&path, case).unwrap();
        let back = read_npy(&path).unwrap();
        assert_eq!(back.dtype(), case.dtype());
        assert_eq!(back.shape(), case.shape());
        // Bitwise comparison (NaN != NaN).
        assert_eq!(to_npy_bytes(&back), to_npy_bytes(case), "case {i}");
    }
    // A transposed (non-standard-layout) view is written in its logical C order.
    let t = m.t();
    write_npy(dir.join("t.npy"), &t).unwrap();
    let back = read_npy(dir.join("t.npy"))
        .unwrap()
        .into_array::<f64>()
        .unwrap();
    assert_eq!(back, t.to_owned().into_dyn());
    // Overwriting an existing file works and leaves no temporary file.
    write_npy(dir.join("t.npy"), &m).unwrap();
    assert_eq!(read_npy(dir.join("t.npy")).unwrap().shape(), &[3, 4]);
    assert!(
        entries(&dir).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        entries(&dir)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn npy_conversions() {
    let labels = NpyArray::from(array![1i64, 2, 3]);
    let err = labels.clone().into_array::<f32>().unwrap_err().to_string();
    assert!(err.contains("int64") && err.contains("float32"), "{err}");
    assert_eq!(labels.into_f32(), array![1.0f32, 2.0, 3.0].into_dyn());
    assert_eq!(
        NpyArray::from(array![0.1f64]).to_f32(),
        array![0.1f32].into_dyn()
    );
}

#[test]
fn npy_bad_input_is_an_error_not_a_panic() {
    let good = to_npy_bytes(&array![[1.0f32, 2.0], [3.0, 4.0]]);
    let msg = |bytes: &[u8]| parse_npy(bytes, "bad.npy").unwrap_err().to_string();

    // Every truncation of a valid file is an error naming it.
    for cut in 0..good.len() {
        let m = msg(&good[..cut]);
        assert!(m.contains("bad.npy"), "{m}");
    }
    // Trailing data too.
    let mut long = good.clone();
    long.push(0);
    assert!(msg(&long).contains("17"), "{}", msg(&long));
    // Wrong magic, unknown version.
    assert!(msg(b"PK\x03\x04 not npy at all").contains("magic"));
    let mut v9 = good.clone();
    v9[6] = 9;
    assert!(msg(&v9).contains("version 9"));
    // Flipping any byte of the header never panics.
    for i in 0..128 {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut b = good.clone();
            b[i] ^= flip;
            let _ = parse_npy(&b, "flipped.npy");
        }
    }

    let with_header = |dict: &str| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b
    };
    // A hostile shape: 2^62 elements claimed by a tiny file, rejected without allocating.
    let huge = with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 1073741824), }",
    );
    let m = msg(&huge);
    assert!(m.contains("too large") || m.contains("needs"), "{m}");
    let big = with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }");
    let m = msg(&big);
    assert!(m.contains("40000000000") && m.contains("truncated"), "{m}");
    // Unsupported types.
    let m = msg(&with_header(
        "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
    ));
    assert!(m.contains("<c16") && m.contains("float32"), "{m}");
    let m = msg(&with_header(
        "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
    ));
    assert!(m.contains("not supported"), "{m}");
    // A version 2.0 header claiming 4 GiB of header.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(msg(&v2).contains("more than"), "{}", msg(&v2));

    // A missing file is an I/O error naming it.
    let err = read_npy("/nonexistent/x.npy").unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("x.npy"));
    // Writing into a missing folder: an I/O error.
    let err = write_npy("/nonexistent-kerust-dir/x.npy", &array![1u8]).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// .npz

#[test]
fn npz_reads_numpy_fixtures() {
    let npz = read_npz(fixture("savez.npz")).unwrap();
    assert_eq!(npz.names().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(
        npz.get("x").unwrap().to_f32(),
        array![[-0.5f32, -0.25, 0.0], [0.25, 0.5, 0.75]].into_dyn()
    );
    assert_eq!(npz.get("y").unwrap(), &NpyArray::from(array![1i64, 0]));

    let mut c = read_npz(fixture("savez_compressed.npz")).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c.take("arr_0").unwrap(), NpyArray::from(array![9u8, 8, 7]));
    assert_eq!(
        c.take("arr_1").unwrap().into_array::<f64>().unwrap(),
        Array2::<f64>::eye(2).into_dyn()
    );
    assert!(c.is_empty());
}

#[test]
fn npz_round_trip_and_errors() {
    let dir = temp_dir("npz");
    let x = Array2::from_shape_fn((50, 20), |(i, j)| (i * j) as f32 / 7.0);
    let y = array![3u8, 1, 4, 1, 5];
    let w = NpyArray::from(array![[1i32, 2], [3, 4]]);
    let arrays = [
        ("x_train", NpyView::from(&x)),
        ("y_train", (&y).into()),
        ("nested/w", (&w).into()),
    ];
    for (file, compressed) in [("plain.npz", false), ("deflate.npz", true)] {
        let path = dir.join(file);
        if compressed {
            write_npz_compressed(&path, &arrays).unwrap();
        } else {
            write_npz(&path, &arrays).unwrap();
        }
        let npz = read_npz(&path).unwrap();
        assert_eq!(
            npz.names().collect::<Vec<_>>(),
            ["x_train", "y_train", "nested/w"]
        );
        let all = npz.into_vec();
        assert_eq!(all[0].1, NpyArray::from(x.clone()));
        assert_eq!(all[1].1, NpyArray::from(y.clone()));
        assert_eq!(all[2].1, w);
    }
    assert!(
        std::fs::metadata(dir.join("deflate.npz")).unwrap().len()
            < std::fs::metadata(dir.join("plain.npz")).unwrap().len()
    );

    // Repeated or empty names.
    let err = write_npz(
        dir.join("dup.npz"),
        &[("a", (&y).into()), ("a", (&y).into())],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("'a'"), "{err}");
    assert!(write_npz(dir.join("e.npz"), &[("", (&y).into())]).is_err());

    // Not a zip; a truncated zip; a corrupted entry.
    std::fs::write(dir.join("not.npz"), b"hello").unwrap();
    let err = read_npz(dir.join("not.npz")).unwrap_err();
    assert!(
        matches!(err, Error::Format { format: ".npz", .. }),
        "{err:?}"
    );
    let bytes = std::fs::read(dir.join("plain.npz")).unwrap();
    std::fs::write(dir.join("cut.npz"), &bytes[..bytes.len() / 2]).unwrap();
    assert!(read_npz(dir.join("cut.npz")).is_err());
    let mut bad = bytes.clone();
    // Inside the first entry's data (after its local header and the .npy header).
    bad[300] ^= 0xff;
    std::fs::write(dir.join("crc.npz"), &bad).unwrap();
    let err = read_npz(dir.join("crc.npz")).unwrap_err().to_string();
    assert!(err.contains("crc.npz"), "{err}");

    assert!(entries(&dir).iter().all(|n| !n.starts_with('.')));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_header_label_by_name() {
    let dir = temp_dir("csv");
    let path = dir.join("iris.csv");
    std::fs::write(
        &path,
        "sepal_length, sepal_width ,species\r\n5.1,3.5,0\r\n\"4.9\",3.0,1\r\n\r\n6.2, 2.9 ,2\r\n",
    )
    .unwrap();
    let options = CsvOptions {
        label_column: Some("species".into()),
        ..Default::default()
    };
    let data = read_csv(&path, &options).unwrap();
    assert_eq!(data.features, array![[5.1f32, 3.5], [4.9, 3.0], [6.2, 2.9]]);
    assert_eq!(data.labels, Some(array![0.0f32, 1.0, 2.0]));
    assert_eq!(
        data.feature_names,
        Some(vec!["sepal_length".to_string(), "sepal_width".to_string()])
    );
    assert_eq!(data.label_name.as_deref(), Some("species"));
    let (x, y) = load_csv(&path, &options).unwrap();
    assert_eq!((x, y), (data.features, data.labels));

    // Selected features, in the given order; no label.
    let (x, y) = load_csv(
        &path,
        &CsvOptions {
            feature_columns: Some(vec!["sepal_width".into(), Column::Index(0)]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(x.row(0).to_vec(), vec![3.5, 5.1]);
    assert!(y.is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn csv_without_header_and_delimiters() {
    let data = csv(
        "1;2;3\n4;5;6\n",
        &CsvOptions {
            has_header: false,
            delimiter: b';',
            label_column: Some(0.into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.features, array![[2.0f32, 3.0], [5.0, 6.0]]);
    assert_eq!(data.labels, Some(array![1.0f32, 4.0]));
    assert!(data.feature_names.is_none() && data.label_name.is_none());

    let tabs = csv(
        "a\tb\n1e-3\t-inf\n",
        &CsvOptions {
            delimiter: b'\t',
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(tabs.features[[0, 0]], 1e-3);
    assert_eq!(tabs.features[[0, 1]], f32::NEG_INFINITY);
}

#[test]
fn csv_real_digits_file() {
    // The shared UCI digits: 1797 rows, 64 pixels then the label, no header, gzip-compressed.
    let path = data_root().join("digits/digits.csv.gz");
    let file = std::fs::File::open(&path).unwrap();
    let data = parse_csv(
        flate2::read::GzDecoder::new(file),
        &path.display().to_string(),
        &CsvOptions {
            has_header: false,
            label_column: Some(64.into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.features.dim(), (1797, 64));
    let labels = data.labels.unwrap();
    assert_eq!(labels.len(), 1797);
    let mut counts = [0usize; 10];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert_eq!(
        data.features
            .row(0)
            .iter()
            .take(8)
            .copied()
            .collect::<Vec<_>>(),
        vec![0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
    );
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let dir = temp_dir("csv-bad");
    let path = dir.join("bad.csv");

    // A ragged row.
    std::fs::write(&path, "a,b,c\n1,2,3\n4,5\n").unwrap();
    let err = read_csv(&path, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::Format { format: "CSV", .. }),
        "{err:?}"
    );
    let m = err.to_string();
    assert!(
        m.contains("bad.csv") && m.contains("line 3") && m.contains("2 fields"),
        "{m}"
    );
    assert!(m.contains("header has 3"), "{m}");
    // Too many fields, without a header.
    std::fs::write(&path, "1,2\n3,4,5\n").unwrap();
    let m = read_csv(
        &path,
        &CsvOptions {
            has_header: false,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        m.contains("line 2: 3 fields, but the first row has 2"),
        "{m}"
    );

    // A non-numeric cell: line, column number and name, and the text.
    std::fs::write(&path, "x,y,label\n1,2,0\n3,abc,1\n").unwrap();
    let m = read_csv(&path, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(m.contains("bad.csv"), "{m}");
    assert!(
        m.contains("line 3, column 2 ('y'): 'abc' is not a number"),
        "{m}"
    );
    // ... in the label column, and an empty cell.
    std::fs::write(&path, "1,2,cat\n").unwrap();
    let m = read_csv(
        &path,
        &CsvOptions {
            has_header: false,
            label_column: Some(2.into()),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("line 1, column 3: 'cat'"), "{m}");
    std::fs::write(&path, "a,b\n1,\n").unwrap();
    let m = read_csv(&path, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("line 2, column 2 ('b'): '' is not a number"),
        "{m}"
    );

    // Invalid UTF-8.
    std::fs::write(&path, b"a,b\n1,\xff\n").unwrap();
    let m = read_csv(&path, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(m.contains("UTF-8") && m.contains("line 2"), "{m}");

    // Columns that do not exist.
    std::fs::write(&path, "x,y\n1,2\n").unwrap();
    let err = read_csv(
        &path,
        &CsvOptions {
            label_column: Some("label".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            name: "label_column",
            ..
        }
    ));
    assert!(err.to_string().contains("x, y"), "{err}");
    let m = read_csv(
        &path,
        &CsvOptions {
            feature_columns: Some(vec![5.into()]),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("index 5") && m.contains("2 columns"), "{m}");
    let m = read_csv(
        &path,
        &CsvOptions {
            has_header: false,
            label_column: Some("y".into()),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("has_header is false"), "{m}");
    // Only a label column: no features left.
    std::fs::write(&path, "y\n1\n").unwrap();
    let m = read_csv(
        &path,
        &CsvOptions {
            label_column: Some(0.into()),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(m.contains("no feature column"), "{m}");

    // Empty file, header only, missing file.
    std::fs::write(&path, "").unwrap();
    assert!(read_csv(&path, &CsvOptions::default())
        .unwrap_err()
        .to_string()
        .contains("empty"));
    std::fs::write(&path, "a,b\n").unwrap();
    assert!(read_csv(&path, &CsvOptions::default())
        .unwrap_err()
        .to_string()
        .contains("no data rows"));
    let err = read_csv(dir.join("missing.csv"), &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.csv"));
    std::fs::remove_dir_all(dir).unwrap();
}
