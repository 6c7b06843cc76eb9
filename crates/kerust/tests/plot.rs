//! kerust::plot: every function writes a readable PNG and an SVG, and bad input is an error.
//!
//! Set `KERUST_PLOT_DIR=/some/dir` to keep the pictures there for looking at.
#![cfg(feature = "plot")]

use kerust::callbacks::History;
use kerust::plot::{plot_confusion_matrix, plot_history, plot_images, plot_prediction};
use kerust::Error;
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory for one test's files.
fn out_dir(test: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = match std::env::var_os("KERUST_PLOT_DIR") {
        Some(d) => PathBuf::from(d).join(test),
        None => std::env::temp_dir().join(format!(
            "kerust-plot-test-{}-{}-{test}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )),
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a test's directory unless the pictures are being kept.
fn clean(dir: &Path) {
    if std::env::var_os("KERUST_PLOT_DIR").is_none() {
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Decodes a PNG, checks its size, and that it is not one flat colour.
fn check_png(path: &Path, width: Option<u32>, height: Option<u32>) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    if let Some(w) = width {
        assert_eq!(info.width, w, "{}", path.display());
    }
    if let Some(h) = height {
        assert_eq!(info.height, h, "{}", path.display());
    }
    let channels = info.color_type.samples();
    let first = &pixels[..channels];
    let distinct = pixels
        .chunks(channels)
        .filter(|px| *px != first)
        .take(1000)
        .count();
    assert!(
        distinct >= 1000,
        "{} is (nearly) one flat colour",
        path.display()
    );
    (info.width, info.height)
}

/// Checks an SVG file is a complete SVG document holding `texts`.
fn check_svg(path: &Path, texts: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for t in texts {
        assert!(svg.contains(t), "{} lacks {t:?}", path.display());
    }
}

/// No temporary file is left behind in `dir`.
fn no_temp_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file {name} left in {}",
            dir.display()
        );
    }
}

fn fashion_history(epochs: usize, with_val: bool) -> History {
    let mut h = History {
        epoch: (0..epochs).collect(),
        ..Default::default()
    };
    let curve = |start: f32, end: f32, rate: f32| -> Vec<f32> {
        (0..epochs)
            .map(|e| end + (start - end) * (-(e as f32) * rate).exp())
            .collect()
    };
    h.history.insert("loss".into(), curve(0.62, 0.22, 0.35));
    h.history.insert("accuracy".into(), curve(0.78, 0.92, 0.35));
    if with_val {
        let mut val_loss = curve(0.45, 0.32, 0.5);
        // Over-fitting at the end, as real runs do.
        for (e, v) in val_loss.iter_mut().enumerate() {
            *v += 0.004 * (e as f32).powf(1.5) * 0.3;
        }
        h.history.insert("val_loss".into(), val_loss);
        h.history
            .insert("val_accuracy".into(), curve(0.84, 0.885, 0.5));
    }
    h.params.epochs = epochs;
    h
}

#[test]
fn history_png_and_svg() {
    let dir = out_dir("history");
    let h = fashion_history(10, true);
    plot_history(&h, dir.join("history.png")).unwrap();
    check_png(&dir.join("history.png"), Some(1000), Some(400));
    plot_history(&h, dir.join("history.svg")).unwrap();
    check_svg(
        &dir.join("history.svg"),
        &[
            "epoch",
            "Training loss",
            "Validation loss",
            "Training accuracy",
        ],
    );
    no_temp_files(&dir);
    clean(&dir);
}

#[test]
fn history_odd_cases_draw() {
    let dir = out_dir("history_odd");
    // One epoch, no validation, three quantities (two rows), a NaN and an infinity.
    let mut h = History {
        epoch: vec![0],
        ..Default::default()
    };
    h.history.insert("loss".into(), vec![0.7]);
    h.history.insert("accuracy".into(), vec![0.5]);
    h.history.insert("mae".into(), vec![f32::NAN]);
    plot_history(&h, dir.join("one_epoch.png")).unwrap();
    check_png(&dir.join("one_epoch.png"), Some(1000), Some(800));

    let mut h = fashion_history(30, true);
    h.history.get_mut("loss").unwrap()[12] = f32::NAN;
    h.history.get_mut("val_loss").unwrap()[20] = f32::INFINITY;
    // An epoch list that does not start at 0 (fit with initial_epoch).
    h.epoch = (5..35).collect();
    plot_history(&h, dir.join("gaps.png")).unwrap();
    check_png(&dir.join("gaps.png"), Some(1000), Some(400));

    // Only validation figures; and an empty epoch list (figures alone).
    let mut h = History::default();
    h.history
        .insert("val_loss".into(), vec![1.0, 0.5, 0.25, 0.2]);
    plot_history(&h, dir.join("val_only.svg")).unwrap();
    check_svg(&dir.join("val_only.svg"), &["Validation loss"]);

    // Extreme values and epochs: drawn without a panic.
    let cases: [(Vec<usize>, Vec<f32>); 5] = [
        (vec![0, 1], vec![1e30, -1e30]),
        (vec![0, 1, 2], vec![1.0, 1.0 + 1e-7, 1.0]),
        (vec![usize::MAX - 1, usize::MAX], vec![0.5, 0.4]),
        (vec![3, 1, 2], vec![f32::MAX, f32::MIN_POSITIVE, 0.0]),
        (vec![0; 3], vec![f32::NEG_INFINITY, f32::NAN, f32::INFINITY]),
    ];
    for (i, (epoch, loss)) in cases.into_iter().enumerate() {
        let mut h = History {
            epoch,
            ..Default::default()
        };
        h.history.insert("loss".into(), loss);
        plot_history(&h, dir.join(format!("extreme{i}.png"))).unwrap();
    }
    clean(&dir);
}

#[test]
fn history_errors() {
    let dir = out_dir("history_errors");
    let e = plot_history(&History::default(), dir.join("empty.png")).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    assert!(e.to_string().contains("no epochs"), "{e}");

    let mut h = fashion_history(5, true);
    h.history.get_mut("val_loss").unwrap().pop();
    let e = plot_history(&h, dir.join("short.png")).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert!(e.to_string().contains("val_loss"), "{e}");

    let h = fashion_history(5, true);
    for ext in ["bmp", "jpg"] {
        let e = plot_history(&h, dir.join(format!("h.{ext}"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(".png") && msg.contains(".svg"), "{msg}");
        assert!(msg.contains(ext), "{msg}");
    }
    let e = plot_history(&h, dir.join("no_extension")).unwrap_err();
    assert!(e.to_string().contains(".png"), "{e}");
    let e = plot_history(&h, dir.join("missing").join("h.png")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing"), "{e}");
    no_temp_files(&dir);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    clean(&dir);
}

const FASHION: [&str; 10] = kerust::datasets::fashion_mnist::CLASS_NAMES;

/// A Fashion-MNIST-like confusion matrix: 1000 test images a class, shirts mistaken for
/// T-shirts, pullovers and coats.
fn fashion_confusion() -> Array2<u64> {
    let mut cm = Array2::<u64>::zeros((10, 10));
    let errors: [(usize, usize, u64); 14] = [
        (0, 6, 120),
        (0, 3, 25),
        (1, 3, 18),
        (2, 4, 95),
        (2, 6, 70),
        (3, 4, 30),
        (4, 2, 80),
        (4, 6, 60),
        (6, 0, 140),
        (6, 2, 90),
        (6, 4, 70),
        (7, 9, 35),
        (9, 7, 40),
        (5, 7, 22),
    ];
    for (t, p, v) in errors {
        cm[[t, p]] += v;
    }
    for t in 0..10 {
        let wrong: u64 = cm.row(t).sum();
        cm[[t, t]] = 1000 - wrong - (t as u64 % 3);
        cm[[t, (t + 1) % 10]] += t as u64 % 3;
    }
    cm
}

#[test]
fn confusion_matrix_png_and_svg() {
    let dir = out_dir("confusion");
    let cm = fashion_confusion();
    plot_confusion_matrix(&cm, Some(&FASHION), dir.join("fashion.png")).unwrap();
    // 10 cells of 56 px (560 / 10); the names at 13 px, the widest 60 px wide,
    // so the column names stand vertically, 60 px high. Width: margin 16 + axis title 15 + 12
    // + row names 60 + 8, the grid 560, then 22 + colour bar 18 + 6 + tick labels (0 to 750,
    // 20 px) + margin 16. Height: margin 16 + title 19 + 18, the grid 560, then 8 + column
    // names 60 + 12 + axis title 15 + margin 16.
    check_png(
        &dir.join("fashion.png"),
        Some(16 + 15 + 12 + 60 + 8 + 560 + 22 + 18 + 6 + 20 + 16),
        Some(16 + 19 + 18 + 560 + 8 + 60 + 12 + 15 + 16),
    );
    plot_confusion_matrix(&cm, Some(&FASHION), dir.join("fashion.svg")).unwrap();
    check_svg(
        &dir.join("fashion.svg"),
        &[
            "True label",
            "Predicted label",
            "Ankle boot",
            "T-shirt/top",
            "\n855\n",
        ],
    );
    // Without names, the class numbers label the axes; short names stay horizontal.
    // The same layout with one-digit names (8 px wide), horizontal, 13 px high.
    plot_confusion_matrix(&cm, None, dir.join("numbers.png")).unwrap();
    check_png(
        &dir.join("numbers.png"),
        Some(16 + 15 + 12 + 8 + 8 + 560 + 22 + 18 + 6 + 20 + 16),
        Some(16 + 19 + 18 + 560 + 8 + 13 + 12 + 15 + 16),
    );
    // Two cells of the largest size, 80 px; the picture as wide as its title
    // ("Confusion matrix: 13 samples, 92.3% correct", 369 px at 19 px) and two margins.
    let small = ndarray::array![[5u64, 1], [0, 7]];
    plot_confusion_matrix(&small, Some(&["no", "yes"]), dir.join("two.png")).unwrap();
    check_png(
        &dir.join("two.png"),
        Some(369 + 2 * 16),
        Some(16 + 19 + 18 + 2 * 80 + 8 + 13 + 12 + 15 + 16),
    );
    no_temp_files(&dir);
    clean(&dir);
}

#[test]
fn confusion_matrix_odd_cases_draw() {
    let dir = out_dir("confusion_odd");
    // Many classes: cells too small for counts, long names abbreviated.
    let n = 60;
    let cm = Array2::from_shape_fn((n, n), |(r, c)| {
        if r == c {
            900 + r as u64
        } else {
            ((r * 7 + c * 3) % 11) as u64
        }
    });
    let names: Vec<String> = (0..n)
        .map(|i| format!("a rather long class name {i}"))
        .collect();
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    plot_confusion_matrix(&cm, Some(&names), dir.join("many.png")).unwrap();
    check_png(&dir.join("many.png"), None, None);
    // One class; all zeros; huge counts.
    plot_confusion_matrix(&ndarray::array![[3u64]], None, dir.join("one.png")).unwrap();
    plot_confusion_matrix(&Array2::zeros((3, 3)), None, dir.join("zeros.png")).unwrap();
    let big = ndarray::array![[u64::MAX, 1], [12_345_678_901, u64::MAX - 1]];
    plot_confusion_matrix(&big, None, dir.join("big.svg")).unwrap();
    clean(&dir);
}

#[test]
fn confusion_matrix_errors() {
    let dir = out_dir("confusion_errors");
    let e = plot_confusion_matrix(&Array2::zeros((0, 0)), None, dir.join("a.png")).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let e = plot_confusion_matrix(&Array2::zeros((2, 3)), None, dir.join("a.png")).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let cm = fashion_confusion();
    let e = plot_confusion_matrix(&cm, Some(&FASHION[..9]), dir.join("a.png")).unwrap_err();
    assert!(
        matches!(e, Error::Shape { .. }) && e.to_string().contains("9 names"),
        "{e}"
    );
    let e = plot_confusion_matrix(&cm, None, dir.join("a.jpg")).unwrap_err();
    assert!(e.to_string().contains(".png"), "{e}");
    let e = plot_confusion_matrix(&cm, None, dir.join("nope").join("a.svg")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    clean(&dir);
}

/// The digits scaled to [0, 1], their labels, and the guesses of a nearest-centroid
/// classifier fitted on the whole set (about 90% right, wrong on the hard ones).
fn digits() -> (Array3<f32>, Vec<usize>, Vec<usize>) {
    let (images, labels) = kerust::datasets::digits::load_data().unwrap();
    let x = images.mapv(|v| v as f32 / 16.0);
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let flat = x.view().into_shape_with_order((x.shape()[0], 64)).unwrap();
    let mut centroids = Array2::<f32>::zeros((10, 64));
    let mut counts = [0f32; 10];
    for (row, &l) in flat.outer_iter().zip(&labels) {
        let mut c = centroids.row_mut(l);
        c += &row;
        counts[l] += 1.0;
    }
    for (mut c, n) in centroids.outer_iter_mut().zip(counts) {
        c /= n;
    }
    let guesses = flat
        .outer_iter()
        .map(|row| {
            (0..10)
                .min_by(|&a, &b| {
                    let d = |k: usize| (&row - &centroids.row(k)).mapv(|v| v * v).sum();
                    d(a).total_cmp(&d(b))
                })
                .unwrap()
        })
        .collect();
    (x, labels, guesses)
}

#[test]
fn images_png_and_svg() {
    let dir = out_dir("images");
    let (x, labels, guesses) = digits();
    // 25 images holding a few wrong guesses.
    let wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| guesses[i] != labels[i])
        .collect();
    let mut pick: Vec<usize> = (0..21).collect();
    pick.extend(&wrong[..4]);
    let batch = x.select(ndarray::Axis(0), &pick);
    let batch_labels: Vec<usize> = pick.iter().map(|&i| labels[i]).collect();
    let batch_guesses: Vec<usize> = pick.iter().map(|&i| guesses[i]).collect();
    // 8x8 images are drawn 12x, in 130+2*14-pixel columns; rows of 17+17+6+96+14, a 34 heading.
    let path = dir.join("digits.png");
    plot_images(
        batch.view(),
        &batch_labels,
        Some(&batch_guesses),
        None,
        &path,
        5,
    )
    .unwrap();
    check_png(&path, Some(5 * 158 + 32), Some(34 + 5 * 150 + 32));
    let path = dir.join("digits.svg");
    plot_images(
        batch.view(),
        &batch_labels,
        Some(&batch_guesses),
        None,
        &path,
        5,
    )
    .unwrap();
    check_svg(
        &path,
        &["Expected: 0", "Guess: ", "guesses right", "#D62728"],
    );

    // Labels only, with names, more columns than images: one row of 8.
    let names = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let first = x.slice(ndarray::s![..8, .., ..]);
    let path = dir.join("named.png");
    plot_images(first, &labels[..8], None, Some(&names), &path, 10).unwrap();
    check_png(&path, Some(8 * 158 + 32), Some(133 + 32));
    no_temp_files(&dir);
    clean(&dir);
}

#[test]
fn images_odd_cases_draw() {
    let dir = out_dir("images_odd");
    // Fashion-MNIST-sized images with long names, values outside [0, 1] (clamped).
    let x = Array3::from_shape_fn((3, 28, 28), |(i, r, c)| {
        ((r as f32 - 14.0).powi(2) + (c as f32 - 14.0).powi(2)).sqrt() / 10.0 - i as f32 * 0.5
    });
    let path = dir.join("fashion.png");
    plot_images(
        x.view(),
        &[9, 0, 6],
        Some(&[9, 6, 0]),
        Some(&FASHION),
        &path,
        2,
    )
    .unwrap();
    check_png(&path, None, None);
    // A single 1x1 image; a tall 40x3 one.
    let one = Array3::from_elem((1, 1, 1), 1.0f32);
    plot_images(one.view(), &[0], None, None, dir.join("one.png"), 1).unwrap();
    let tall = Array3::from_shape_fn((2, 40, 3), |(_, r, _)| r as f32 / 40.0);
    plot_images(tall.view(), &[1, 2], None, None, dir.join("tall.svg"), 3).unwrap();
    clean(&dir);
}

#[test]
fn images_errors() {
    let dir = out_dir("images_errors");
    let (x, labels, guesses) = digits();
    let batch = x.slice(ndarray::s![..10, .., ..]);
    let p = dir.join("a.png");
    let e = plot_images(batch, &labels[..9], None, None, &p, 5).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert!(e.to_string().contains("10 labels"), "{e}");
    let e = plot_images(batch, &labels[..10], Some(&guesses[..11]), None, &p, 5).unwrap_err();
    assert!(
        matches!(e, Error::Shape { .. }) && e.to_string().contains("predictions"),
        "{e}"
    );
    let e = plot_images(batch, &labels[..10], None, None, &p, 0).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { name: "cols", .. }),
        "{e}"
    );
    let empty = Array3::<f32>::zeros((0, 8, 8));
    let e = plot_images(empty.view(), &[], None, None, &p, 5).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let flat = Array3::<f32>::zeros((2, 0, 8));
    let e = plot_images(flat.view(), &[0, 1], None, None, &p, 5).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let mut nan = batch.to_owned();
    nan[[3, 2, 1]] = f32::NAN;
    let e = plot_images(nan.view(), &labels[..10], None, None, &p, 5).unwrap_err();
    assert!(e.to_string().contains("[3, 2, 1]"), "{e}");
    let e = plot_images(batch, &labels[..10], None, Some(&["a", "b"]), &p, 5).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let e = plot_images(batch, &labels[..10], None, None, dir.join("a.bmp"), 5).unwrap_err();
    assert!(e.to_string().contains(".png and .svg"), "{e}");
    let e = plot_images(batch, &labels[..10], None, None, dir.join("x/a.png"), 5).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    // Too many images for one picture.
    let many = Array3::<f32>::zeros((20_000, 8, 8));
    let many_labels = vec![0; 20_000];
    let e = plot_images(many.view(), &many_labels, None, None, &p, 1).unwrap_err();
    assert!(e.to_string().contains("fewer"), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    clean(&dir);
}

/// A softmax-looking row: mostly `top`, some `second`, a little everywhere.
fn softmax_row(n: usize, top: usize, second: usize) -> Vec<f32> {
    let logits: Vec<f32> = (0..n)
        .map(|i| {
            if i == top {
                4.0
            } else if i == second {
                3.0
            } else {
                (i as f32 * 0.7).sin()
            }
        })
        .collect();
    let max = logits.iter().cloned().fold(f32::MIN, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn prediction_png_and_svg() {
    let dir = out_dir("prediction");
    // Wrong: a shirt taken for a T-shirt.
    let p = softmax_row(10, 0, 6);
    plot_prediction(&p, Some(&FASHION), Some(6), dir.join("wrong.png")).unwrap();
    // 10 bars in 64 px slots (640 / 10) right of a 58 px axis, and a 16 px margin; above, a
    // 16 px margin, the 18 px title, 14, the 12 px legend and 24; the 260 px plot; 16, the class
    // names (horizontal, 12 px: each fits in its slot) and a 16 px margin.
    const PREDICTION_SIZE: (u32, u32) = (
        58 + 10 * 64 + 16,
        16 + 18 + 14 + 12 + 24 + 260 + 16 + 12 + 16,
    );
    let (w, h) = PREDICTION_SIZE;
    check_png(&dir.join("wrong.png"), Some(w), Some(h));
    plot_prediction(&p, Some(&FASHION), Some(6), dir.join("wrong.svg")).unwrap();
    check_svg(
        &dir.join("wrong.svg"),
        &[
            "Predicted: T-shirt/top",
            "true: Shirt",
            "probability",
            "#D62728",
        ],
    );
    // Right, and without a true label or names.
    let p = softmax_row(10, 9, 7);
    plot_prediction(&p, Some(&FASHION), Some(9), dir.join("right.png")).unwrap();
    check_png(&dir.join("right.png"), Some(w), Some(h));
    plot_prediction(&p, None, None, dir.join("plain.png")).unwrap();
    check_png(&dir.join("plain.png"), Some(w), Some(h));
    no_temp_files(&dir);
    clean(&dir);
}

#[test]
fn prediction_odd_cases_draw() {
    let dir = out_dir("prediction_odd");
    plot_prediction(&[1.0], None, Some(0), dir.join("one.png")).unwrap();
    plot_prediction(
        &[0.5, 0.5],
        Some(&["heads", "tails"]),
        Some(1),
        dir.join("tie.png"),
    )
    .unwrap();
    plot_prediction(&[0.0; 4], None, None, dir.join("zeros.png")).unwrap();
    let p = softmax_row(100, 42, 17);
    plot_prediction(&p, None, Some(17), dir.join("hundred.png")).unwrap();
    check_png(&dir.join("hundred.png"), None, None);
    let p = softmax_row(1000, 3, 999);
    plot_prediction(&p, None, Some(999), dir.join("thousand.svg")).unwrap();
    clean(&dir);
}

#[test]
fn prediction_errors() {
    let dir = out_dir("prediction_errors");
    let p = dir.join("a.png");
    let e = plot_prediction(&[], None, None, &p).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let e = plot_prediction(&[0.2, f32::NAN], None, None, &p).unwrap_err();
    assert!(e.to_string().contains("index 1"), "{e}");
    let e = plot_prediction(&[2.5, -1.0], None, None, &p).unwrap_err();
    assert!(e.to_string().contains("softmax"), "{e}");
    let e = plot_prediction(&[0.2, 0.8], Some(&FASHION), None, &p).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let e = plot_prediction(&[0.2, 0.8], None, Some(2), &p).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "true_label",
                ..
            }
        ),
        "{e}"
    );
    let e = plot_prediction(&[0.2, 0.8], None, None, dir.join("a.jpg")).unwrap_err();
    assert!(e.to_string().contains(".png and .svg"), "{e}");
    let e = plot_prediction(&[0.2, 0.8], None, None, dir.join("no/a.png")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    clean(&dir);
}
