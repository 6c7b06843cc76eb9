//! The IDX parsers (MNIST / Fashion-MNIST files, gzip or raw) on arbitrary bytes.
#![no_main]

use kerust::datasets::idx::{parse_idx_images, parse_idx_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(images) = parse_idx_images(data, "fuzz") {
        let (n, r, c) = images.dim();
        assert_eq!(images.len(), n * r * c);
    }
    if let Ok(labels) = parse_idx_labels(data, "fuzz") {
        let _ = labels.len();
    }
});
