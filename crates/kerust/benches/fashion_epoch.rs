//! One epoch of the seed-003 model (Flatten 28x28 -> Dense 128 relu -> Dense 10 softmax,
//! Adam, batch 32) on Fashion-MNIST, at 1 and 2 threads: median and range of 5 runs after a
//! warm-up. Run: `KERUST_DATA=../shared/datasets cargo bench -p kerust --bench fashion_epoch`.
//! Without the data files it uses random inputs of the same shape (the speed is the same).

use kerust::prelude::*;
use std::time::Instant;

fn main() -> kerust::Result<()> {
    let (x, y) = match kerust::datasets::fashion_mnist::load_data() {
        Ok(((x, y), _)) => (x.mapv(|v| v as f32 / 255.0), y),
        Err(e) => {
            eprintln!("note: {e}\nusing random data of the same shape");
            let mut rng = kerust::Rng::new(1);
            (
                ndarray::Array3::from_shape_fn((60000, 28, 28), |_| rng.uniform()),
                ndarray::Array1::from_shape_fn(60000, |_| rng.below(10) as u8),
            )
        }
    };
    println!("| threads | median s/epoch | min | max | steps/s |");
    println!("| --- | --- | --- | --- | --- |");
    for threads in [1, 2] {
        kerust::set_num_threads(threads);
        let mut times = Vec::new();
        for run in 0..6 {
            kerust::set_random_seed(run);
            let mut model = Sequential::new(vec![
                Flatten::new().input_shape(&[28, 28]).into(),
                Dense::new(128).activation("relu").into(),
                Dense::new(10).activation("softmax").into(),
            ])?;
            model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;
            let t = Instant::now();
            model.fit(
                &x,
                &y,
                FitOptions {
                    epochs: 1,
                    verbose: 0,
                    ..Default::default()
                },
            )?;
            if run > 0 {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let med = times[times.len() / 2];
        println!(
            "| {threads} | {med:.3} | {:.3} | {:.3} | {:.0} |",
            times[0],
            times[times.len() - 1],
            1875.0 / med
        );
    }
    Ok(())
}
