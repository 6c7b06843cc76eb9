//! Tests of `kerust::datasets`: the real MNIST / Fashion-MNIST files and bad input.
//!
//! The real files are read from `$KERUST_DATA`, or else from the shared copy at
//! `<workspace>/../shared/datasets`. What `load_data()` does with the environment is tested in
//! tests/datasets_env.rs, a test binary of its own as it changes environment variables.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use kerust::datasets::{digits, fashion_mnist, idx, mnist, ImageData};
use kerust::Error;

mod common;
use common::{data_root, temp_dir};

fn be(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = be(&[2051, count, rows, cols]);
    b.extend((0..count * rows * cols).map(|i| (i % 256) as u8));
    b
}

fn idx_labels(count: u32) -> Vec<u8> {
    let mut b = be(&[2049, count]);
    b.extend((0..count).map(|i| (i % 10) as u8));
    b
}

/// Writes a small fake dataset (28x28 images) into `dir`.
fn write_fake(dir: &Path, n_train: (u32, u32), n_test: (u32, u32)) {
    let files = [
        ("train-images-idx3-ubyte.gz", idx_images(n_train.0, 28, 28)),
        ("train-labels-idx1-ubyte.gz", idx_labels(n_train.1)),
        ("t10k-images-idx3-ubyte.gz", idx_images(n_test.0, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", idx_labels(n_test.1)),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), gz(&bytes)).unwrap();
    }
}

fn class_counts(labels: &ndarray::Array1<u8>) -> Vec<usize> {
    let mut counts = vec![0; 10];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

fn check_real(data: &ImageData, first_label: u8, test_counts: &[usize]) {
    let ((x_train, y_train), (x_test, y_test)) = data;
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(y_train.shape(), &[60000]);
    assert_eq!(x_test.shape(), &[10000, 28, 28]);
    assert_eq!(y_test.shape(), &[10000]);
    assert_eq!(y_train[0], first_label);
    assert_eq!(class_counts(y_test), test_counts);
    assert!(y_train.iter().all(|&l| l < 10));
    // Real images: background 0, some full ink.
    assert_eq!(x_train[[0, 0, 0]], 0);
    assert_eq!(x_train.iter().copied().max(), Some(255));
}

#[test]
fn mnist_real_files() {
    let data = mnist::load_data_from(data_root().join("mnist")).unwrap();
    check_real(
        &data,
        5,
        &[980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    );
    // The root folder (holding `mnist/`) is accepted too.
    let again = mnist::load_data_from(data_root()).unwrap();
    assert_eq!(again.1 .1, data.1 .1);
}

#[test]
fn fashion_mnist_real_files() {
    let data = fashion_mnist::load_data_from(data_root()).unwrap();
    check_real(&data, 9, &[1000; 10]);
    assert_eq!(
        fashion_mnist::CLASS_NAMES[data.0 .1[0] as usize],
        "Ankle boot"
    );
    assert_eq!(fashion_mnist::CLASS_NAMES.len(), 10);
    assert_eq!(fashion_mnist::CLASS_NAMES[0], "T-shirt/top");
}

#[test]
fn specs_hold_readme_checksums() {
    assert_eq!(mnist::SPEC.name, "mnist");
    assert_eq!(fashion_mnist::SPEC.name, "fashion-mnist");
    assert_eq!(
        mnist::SPEC.files[0],
        (
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        )
    );
    assert_eq!(
        fashion_mnist::SPEC.files[3],
        (
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
        )
    );
    assert_eq!(
        mnist::SPEC
            .search_dirs()
            .last()
            .and_then(|d| d.file_name().map(|n| n.to_owned())),
        mnist::SPEC.cache_dir().map(|_| "mnist".into())
    );
}

#[test]
fn digits_embedded() {
    let (images, labels) = digits::load_data().unwrap();
    assert_eq!(images.shape(), &[1797, 8, 8]);
    assert_eq!(labels.shape(), &[1797]);
    assert!(images.iter().all(|&p| p <= 16));
    assert_eq!(images.iter().copied().max(), Some(16));
    assert_eq!(
        class_counts(&labels),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    // First sample of sklearn's load_digits(): a zero.
    assert_eq!(labels[0], 0);
    assert_eq!(
        images.slice(ndarray::s![0, 0, ..]).to_vec(),
        vec![0, 0, 5, 13, 9, 1, 0, 0]
    );
}

#[test]
fn idx_gzip_and_plain_round_trip() {
    let raw = idx_images(3, 2, 4);
    let from_plain = idx::parse_idx_images(&raw, "plain").unwrap();
    let from_gz = idx::parse_idx_images(&gz(&raw), "gz").unwrap();
    assert_eq!(from_plain, from_gz);
    assert_eq!(from_plain.shape(), &[3, 2, 4]);
    assert_eq!(from_plain[[2, 1, 3]], 23);
    let labels = idx::parse_idx_labels(&gz(&idx_labels(12)), "l").unwrap();
    assert_eq!(labels.len(), 12);
    assert_eq!(labels[11], 1);

    let dir = temp_dir("roundtrip");
    let path = dir.join("imgs.gz");
    std::fs::write(&path, gz(&raw)).unwrap();
    assert_eq!(idx::read_idx_images(&path).unwrap(), from_plain);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let dir = temp_dir("truncgz");
    // Pseudo-random pixels, so that half of the compressed stream is well into the data.
    let mut raw = be(&[2051, 50, 28, 28]);
    let mut state = 12345u32;
    raw.extend((0..50 * 28 * 28).map(|_| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    }));
    let compressed = gz(&raw);
    let path = dir.join("cut-images.gz");
    std::fs::write(&path, &compressed[..compressed.len() / 2]).unwrap();
    let err = idx::read_idx_images(&path).unwrap_err();
    assert!(
        matches!(err, Error::Format { format: "IDX", .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("cut-images.gz"), "{msg}");
    assert!(msg.contains("39200"), "expected length missing: {msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn truncated_payload_gives_expected_and_actual_lengths() {
    let raw = idx_images(10, 28, 28); // 7840 data bytes
    let cut = &raw[..16 + 1000];
    for bytes in [cut.to_vec(), gz(cut)] {
        let msg = idx::parse_idx_images(&bytes, "train-images.gz")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("train-images.gz"), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains("7840") && msg.contains("1000"), "{msg}");
    }
    let labels = idx_labels(100);
    let msg = idx::parse_idx_labels(&labels[..50], "labels.gz")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("100") && msg.contains("42"), "{msg}");
}

#[test]
fn wrong_magic_is_rejected() {
    // Labels given as images and images given as labels.
    let msg = idx::parse_idx_images(&gz(&idx_labels(5)), "x.gz")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("2049") && msg.contains("2051"), "{msg}");
    assert!(msg.contains("label file"), "{msg}");
    let msg = idx::parse_idx_labels(&idx_images(1, 2, 2), "y")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("expected 2049"), "{msg}");
    // Not IDX at all, nor gzip.
    let msg = idx::parse_idx_images(b"hello, world, this is text", "t.txt")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("neither gzip"), "{msg}");
    // Too short for a magic number.
    assert!(idx::parse_idx_labels(&[0, 0], "short").is_err());
    assert!(idx::parse_idx_labels(&[], "empty").is_err());
    // Gzip magic but garbage after it.
    let msg = idx::parse_idx_labels(&[0x1f, 0x8b, 1, 2, 3, 4, 5], "bad.gz")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn absurd_header_counts_do_not_allocate() {
    // 4e9 images of 65535 x 65535 pixels, in a tiny file: must fail fast, without allocating.
    for (count, rows, cols) in [
        (u32::MAX, 65535, 65535),
        (u32::MAX, u32::MAX, u32::MAX),
        (2000, 1000, 1000),
    ] {
        let raw = be(&[2051, count, rows, cols]);
        for bytes in [raw.clone(), gz(&raw)] {
            let msg = idx::parse_idx_images(&bytes, "huge")
                .unwrap_err()
                .to_string();
            assert!(msg.contains("1 GiB"), "{msg}");
        }
    }
    // A large but allowed header (1e9 labels) with almost no data: a truncation error, and
    // the buffer is bounded by what the input can hold.
    let raw = be(&[2049, 1_000_000_000]);
    let msg = idx::parse_idx_labels(&gz(&raw), "big")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("1000000000") && msg.contains("truncated"),
        "{msg}"
    );
}

#[test]
fn image_label_count_mismatch() {
    let dir = temp_dir("mismatch");
    write_fake(&dir, (5, 4), (3, 3));
    let err = mnist::load_data_from(&dir).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
    assert!(msg.contains('5') && msg.contains("4 labels"), "{msg}");

    // A consistent fake dataset loads.
    write_fake(&dir, (5, 5), (3, 3));
    let ((x, y), (xt, yt)) = fashion_mnist::load_data_from(&dir).unwrap();
    assert_eq!(
        (x.shape(), y.len(), xt.shape(), yt.len()),
        (&[5, 28, 28][..], 5, &[3, 28, 28][..], 3)
    );

    // Images of the wrong size.
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte.gz"),
        gz(&idx_images(3, 8, 8)),
    )
    .unwrap();
    let msg = mnist::load_data_from(&dir).unwrap_err().to_string();
    assert!(msg.contains("28 x 28") && msg.contains("8 x 8"), "{msg}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_directory_lists_places_searched() {
    let dir = temp_dir("missing").join("does-not-exist");
    let err = mnist::load_data_from(&dir).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
    assert!(
        msg.contains(&dir.join("mnist").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("no such folder"), "{msg}");
    assert!(msg.contains("t10k-labels-idx1-ubyte.gz"), "{msg}");

    // A folder with some of the files: the message says which are missing.
    let partial = temp_dir("partial");
    std::fs::write(partial.join("train-images-idx3-ubyte.gz"), b"").unwrap();
    let msg = fashion_mnist::load_data_from(&partial)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"),
        "{msg}"
    );
    std::fs::remove_dir_all(partial).unwrap();
}

#[test]
fn unreadable_file_is_an_io_error() {
    let dir = temp_dir("io");
    let err = idx::read_idx_labels(dir.join("nope.gz")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.gz"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Inputs that libFuzzer's `idx_parser` target reported as slow or timed out (fuzz/README.md:
/// 11 s, 33 s and 18 s on a machine that stalled; each parses in about a millisecond when
/// run again). Kept as regressions: small gzip streams whose IDX data is malformed; each
/// parser must return a format error naming the source, never panic.
#[test]
fn fuzz_regressions_idx_parser() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_regressions/idx_parser");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for r in [
            idx::parse_idx_images(&bytes, &name).map(|_| ()),
            idx::parse_idx_labels(&bytes, &name).map(|_| ()),
        ] {
            let e = r.expect_err(&name);
            assert!(matches!(e, Error::Format { .. }), "{name}: {e}");
            assert!(e.to_string().contains(&name), "{e}");
        }
    }
}
