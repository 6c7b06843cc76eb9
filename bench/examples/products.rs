//! Times kerust's matrix products against the `gemm` crate on the shapes the workloads use:
//! `cargo run --release -p kerust-bench --example products [-- THREADS]` (default 1; the
//! `gemm` crate then gets as many rayon threads).
use std::time::Instant;

fn time(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < 0.3 {
        f();
        n += 1;
    }
    t.elapsed().as_secs_f64() / n as f64
}

fn main() {
    let threads: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1,
        Some(Ok(t)) if t >= 1 => t,
        Some(_) => {
            eprintln!("usage: products [THREADS >= 1]");
            std::process::exit(2);
        }
    };
    kerust::set_num_threads(threads);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // (label, m, k, n, kind): kind 0 = a·b, 1 = aᵀ·b, 2 = a·bᵀ
    let shapes = [
        ("W1 fwd", 32, 784, 128, 0),
        ("W1 dW", 784, 32, 128, 1),
        ("W1 l2 fwd", 32, 128, 10, 0),
        ("W1 l2 dW", 128, 32, 10, 1),
        ("W1 l2 dX", 32, 10, 128, 2),
        ("W3 fwd1", 128, 784, 512, 0),
        ("W3 fwd2", 128, 512, 512, 0),
        ("W3 dW2", 512, 128, 512, 1),
        ("W3 dX2", 128, 512, 512, 2),
        ("LSTM step", 32, 128, 512, 0),
        ("LSTM dh", 32, 512, 128, 2),
        ("CNN c1", 32 * 676, 9, 32, 0),
        ("CNN c1 dW", 9, 32 * 676, 32, 1),
        ("CNN c2", 32 * 121, 288, 64, 0),
        ("CNN c2 dW", 288, 32 * 121, 64, 1),
        ("CNN c2 dX", 32 * 121, 64, 288, 2),
        ("CNN d1", 32, 1600, 128, 0),
        ("CNN d1 dW", 1600, 32, 128, 1),
        ("CNN d1 dX", 32, 128, 1600, 2),
        ("CNN c2 wino", 48, 32, 64, 0),
        ("wino dV", 48, 64, 32, 0),
        ("wino dU", 32, 48, 64, 1),
        ("wino 144", 144, 32, 64, 0),
        ("wino dU144", 32, 144, 64, 1),
        ("sq 512", 512, 512, 512, 0),
        ("sq 1024", 1024, 1024, 1024, 0),
    ];
    for (label, m, k, n, kind) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![0.0f32; m * n];
        let ours = kerust::kernels::with_training_env(|| {
            time(|| match kind {
                0 => kerust::kernels::matmul(&mut c, &a, &b, m, k, n, false),
                1 => kerust::kernels::matmul_at_b(&mut c, &a, &b, m, k, n, false),
                _ => kerust::kernels::matmul_a_bt(&mut c, &a, &b, m, k, n, false),
            })
        });
        let (ars, acs) = if kind == 1 {
            (1, m as isize)
        } else {
            (k as isize, 1)
        };
        let (brs, bcs) = if kind == 2 {
            (1, k as isize)
        } else {
            (n as isize, 1)
        };
        let theirs = time(|| unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                acs,
                ars,
                b.as_ptr(),
                bcs,
                brs,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        });
        let gf = |s: f64| 2.0 * (m * k * n) as f64 / s / 1e9;
        println!(
            "{label:>10} {m:>6}x{k:>5}x{n:>4}: kerust {:7.1} GFLOP/s  gemm {:7.1} GFLOP/s  ratio {:.2}",
            gf(ours), gf(theirs), theirs / ours
        );
    }
}
