//! `kerust::saving::load_model_from_bytes` on arbitrary bytes: `.keras` zips, HDF5 files,
//! junk. Any outcome but an error or a model (a panic, an abort, an OOM) is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut model) = kerust::saving::load_model_from_bytes(data, "fuzz") {
        // A model that loads must also describe itself and save without panicking.
        let _ = model.to_json();
        let _ = model.count_params();
        if let Some(shape) = model.input_shape().map(|s| s.to_vec()) {
            let n: usize = shape.iter().product();
            if n > 0 && n <= 1 << 16 && model.count_params() <= 1 << 20 {
                let mut dims = vec![1];
                dims.extend(shape);
                let x = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&dims));
                let _ = model.predict(&x, 1);
            }
        }
    }
});
