//! Tests of `kerust::preprocessing`: scikit-learn / Keras fixtures and hand-computed cases.

use std::collections::HashSet;

use kerust::preprocessing::{
    normalize, shuffle_arrays, to_categorical, train_test_split, MinMaxScaler, StandardScaler,
};
use kerust::Error;
use ndarray::{array, Array1, Array2, Array3, ArrayD, IxDyn};
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/scalers.json");

/// `{"shape": [...], "data": [...]}` as an f64 array.
fn arr(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| d.as_f64().expect("number"))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).expect("shape matches data")
}

fn arr2_f32(v: &Value) -> Array2<f32> {
    arr(v)
        .mapv(|x| x as f32)
        .into_dimensionality()
        .expect("2-D array")
}

fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|d| d.as_f64().expect("number"))
        .collect()
}

/// Relative comparison, with an absolute floor of `tol` for values near 0.
fn assert_close<'a>(
    what: &str,
    got: impl IntoIterator<Item = f64>,
    want: impl IntoIterator<Item = &'a f64>,
    tol: f64,
) {
    let got: Vec<f64> = got.into_iter().collect();
    let want: Vec<f64> = want.into_iter().copied().collect();
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

/// The scikit-learn / Keras fixture (written by tools/gen_fixtures.py and committed): a
/// missing or broken file fails the test rather than skipping the comparison.
fn load_fixture() -> Value {
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| {
        panic!("fixture {FIXTURE} cannot be read ({e}); regenerate it with tools/gen_fixtures.py")
    });
    serde_json::from_str(&text).expect("valid JSON fixture")
}

#[test]
fn scalers_match_scikit_learn_fixture() {
    let fx = load_fixture();
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let x = arr2_f32(&case["input"]);
        let x2 = arr2_f32(&case["second_input"]);
        let want_t = arr(&case["transform"]);
        let want_inv = arr(&case["inverse_transform_second"]);
        let fitted = &case["fitted"];
        let tol = 1e-5;
        match name {
            "MinMaxScaler" => {
                let range = match case["config"].get("feature_range") {
                    Some(r) => {
                        let r = vec_f64(r);
                        (r[0] as f32, r[1] as f32)
                    }
                    None => (0.0, 1.0),
                };
                let mut s = MinMaxScaler::new(range).unwrap();
                let t = s.fit_transform(&x).unwrap();
                let label = format!("{name}{range:?}");
                assert_close(
                    &format!("{label} transform"),
                    t.iter().map(|&v| f64::from(v)),
                    want_t.iter(),
                    tol,
                );
                let inv = s.inverse_transform(&x2).unwrap();
                assert_close(
                    &format!("{label} inverse"),
                    inv.iter().map(|&v| f64::from(v)),
                    want_inv.iter(),
                    tol,
                );
                for (attr, got) in [
                    ("data_min_", s.data_min()),
                    ("data_max_", s.data_max()),
                    ("data_range_", s.data_range()),
                    ("scale_", s.scale()),
                    ("min_", s.min()),
                ] {
                    let want = vec_f64(&fitted[attr]);
                    assert_close(
                        &format!("{label} {attr}"),
                        got.unwrap().iter().copied(),
                        want.iter(),
                        tol,
                    );
                }
            }
            "StandardScaler" => {
                let mut s = StandardScaler::default();
                let t = s.fit_transform(&x).unwrap();
                assert_close(
                    "StandardScaler transform",
                    t.iter().map(|&v| f64::from(v)),
                    want_t.iter(),
                    tol,
                );
                let inv = s.inverse_transform(&x2).unwrap();
                assert_close(
                    "StandardScaler inverse",
                    inv.iter().map(|&v| f64::from(v)),
                    want_inv.iter(),
                    tol,
                );
                for (attr, got) in [
                    ("mean_", s.mean()),
                    ("var_", s.var()),
                    ("scale_", s.scale()),
                ] {
                    let want = vec_f64(&fitted[attr]);
                    assert_close(
                        &format!("StandardScaler {attr}"),
                        got.unwrap().iter().copied(),
                        want.iter(),
                        tol,
                    );
                }
                // The constant column has scale 1.
                assert_eq!(s.scale().unwrap()[1], 1.0);
            }
            other => panic!("unexpected scaler {other} in the fixture"),
        }
    }
}

#[test]
fn normalize_and_to_categorical_match_keras_fixture() {
    let fx = load_fixture();
    let n = &fx["normalize"];
    let axis = n["kwargs"]["axis"].as_i64().unwrap() as isize;
    let order = n["kwargs"]["order"].as_u64().unwrap() as u32;
    let x = arr(&n["input"]).mapv(|v| v as f32);
    let got = normalize(&x, axis, order).unwrap();
    let want = arr(&n["output"]);
    assert_eq!(got.shape(), want.shape());
    assert_close(
        "normalize",
        got.iter().map(|&v| f64::from(v)),
        want.iter(),
        1e-6,
    );

    let c = &fx["to_categorical"];
    let labels: Vec<usize> = c["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let k = c["num_classes"].as_u64().unwrap() as usize;
    let got = to_categorical(&labels, Some(k)).unwrap();
    let want = arr(&c["output"]);
    assert_eq!(got.shape(), want.shape());
    assert!(got
        .iter()
        .zip(want.iter())
        .all(|(&g, &w)| f64::from(g) == w));
}

// ----------------------------------------------------------------------------------------
// MinMaxScaler

#[test]
fn minmax_hand_computed() {
    // Columns: [0, 2, 4] -> range 4; constant 7; [-1, 1, 0] -> range 2.
    let x = array![[0.0f32, 7.0, -1.0], [2.0, 7.0, 1.0], [4.0, 7.0, 0.0]];
    let mut s = MinMaxScaler::default();
    let t = s.fit_transform(&x.view()).unwrap();
    assert_eq!(
        t,
        array![[0.0f32, 0.0, 0.0], [0.5, 0.0, 1.0], [1.0, 0.0, 0.5]]
    );
    assert_eq!(s.data_min().unwrap().to_vec(), vec![0.0, 7.0, -1.0]);
    assert_eq!(s.data_max().unwrap().to_vec(), vec![4.0, 7.0, 1.0]);
    assert_eq!(s.data_range().unwrap().to_vec(), vec![4.0, 0.0, 2.0]);
    assert_eq!(s.scale().unwrap().to_vec(), vec![0.25, 1.0, 0.5]);
    assert_eq!(s.min().unwrap().to_vec(), vec![0.0, -7.0, 0.5]);
    assert_eq!(s.n_features_in(), Some(3));
    assert_eq!(s.n_samples_seen(), Some(3));
    assert_eq!(s.inverse_transform(&t).unwrap(), x);
    // Out of the fitted range: no clipping; a new value in the constant column shifts.
    let t2 = s.transform(&array![[8.0f32, 9.0, -3.0]]).unwrap();
    assert_eq!(t2, array![[2.0f32, 2.0, -1.0]]);

    // feature_range (-1, 1): scale = 2 / range, min = -1 - data_min * scale.
    let mut s = MinMaxScaler::new((-1.0, 1.0)).unwrap();
    let t = s.fit_transform(&x).unwrap();
    assert_eq!(
        t,
        array![[-1.0f32, -1.0, -1.0], [0.0, -1.0, 1.0], [1.0, -1.0, 0.0]]
    );
    assert_eq!(s.scale().unwrap().to_vec(), vec![0.5, 2.0, 1.0]);
    assert_eq!(s.feature_range(), (-1.0, 1.0));
}

#[test]
fn minmax_errors() {
    let x = array![[0.0f32, 1.0], [2.0, 3.0]];
    let s = MinMaxScaler::default();
    let e = s.transform(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e:?}");
    assert!(e.to_string().contains("not fitted"), "{e}");
    assert!(s
        .inverse_transform(&x)
        .unwrap_err()
        .to_string()
        .contains("not fitted"));

    let mut s = MinMaxScaler::default();
    s.fit(&x).unwrap();
    let e = s.transform(&array![[1.0f32, 2.0, 3.0]]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    assert!(e.to_string().contains("2 features"), "{e}");
    assert!(s.inverse_transform(&array![[1.0f32]]).is_err());

    let e = MinMaxScaler::default()
        .fit(&array![[0.0f32, 1.0], [f32::NAN, 3.0]])
        .unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e:?}");
    assert!(
        e.to_string().contains("NaN") && e.to_string().contains("(1, 0)"),
        "{e}"
    );
    assert!(s.transform(&array![[f32::INFINITY, 1.0]]).is_err());

    let e = MinMaxScaler::default()
        .fit(&Array2::<f32>::zeros((0, 3)))
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    assert!(MinMaxScaler::default()
        .fit(&Array2::<f32>::zeros((3, 0)))
        .is_err());

    for range in [
        (1.0, 1.0),
        (2.0, -1.0),
        (f32::NAN, 1.0),
        (0.0, f32::INFINITY),
    ] {
        let e = MinMaxScaler::new(range).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidArgument {
                    name: "feature_range",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    // A result that overflows f32 is an error, not infinity.
    let mut s = MinMaxScaler::default();
    s.fit(&array![[0.0f32], [1e-10]]).unwrap();
    assert!(s.transform(&array![[1e30f32]]).is_err());
}

// ----------------------------------------------------------------------------------------
// StandardScaler

#[test]
fn standard_hand_computed() {
    // Column 0: mean 2.5, population var 1.25; column 1 constant 0.1.
    let x = array![[1.0f32, 0.1], [2.0, 0.1], [3.0, 0.1], [4.0, 0.1]];
    let mut s = StandardScaler::default();
    let t = s.fit_transform(&x).unwrap();
    let sd = 1.25f64.sqrt();
    let want: Vec<f32> = [1.0, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v: &f64| [((v - 2.5) / sd) as f32, 0.0])
        .collect();
    assert_eq!(t.iter().copied().collect::<Vec<_>>(), want);
    assert_eq!(s.mean().unwrap()[0], 2.5);
    assert_eq!(s.var().unwrap()[0], 1.25);
    assert_eq!(s.scale().unwrap().to_vec(), vec![sd, 1.0]);
    let back = s.inverse_transform(&t).unwrap();
    for (b, o) in back.iter().zip(x.iter()) {
        assert!((b - o).abs() < 1e-6, "{b} vs {o}");
    }

    // Only centering / only scaling / neither.
    let mut c = StandardScaler::new(true, false);
    assert_eq!(
        c.fit_transform(&x).unwrap().column(0).to_vec(),
        vec![-1.5f32, -0.5, 0.5, 1.5]
    );
    assert!(c.scale().is_none() && c.var().is_none() && c.mean().is_some());
    let mut sc = StandardScaler::new(false, true);
    let t = sc.fit_transform(&x).unwrap();
    assert_eq!(t[[0, 0]], (1.0 / sd) as f32);
    assert_eq!(t[[0, 1]], 0.1f32);
    let mut none = StandardScaler::new(false, false);
    assert_eq!(none.fit_transform(&x).unwrap(), x);
    assert!(none.mean().is_none());
    assert_eq!(none.n_samples_seen(), Some(4));
}

#[test]
fn standard_errors() {
    let s = StandardScaler::default();
    assert!(s
        .transform(&array![[1.0f32]])
        .unwrap_err()
        .to_string()
        .contains("not fitted"));
    let mut s = StandardScaler::default();
    assert!(s.fit(&Array2::<f32>::zeros((0, 2))).is_err());
    assert!(s.fit(&array![[f32::NAN]]).is_err());
    s.fit(&array![[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    assert!(matches!(
        s.transform(&array![[1.0f32]]).unwrap_err(),
        Error::Shape { .. }
    ));
    assert!(s
        .inverse_transform(&array![[1.0f32, f32::NEG_INFINITY]])
        .is_err());
}

// ----------------------------------------------------------------------------------------
// to_categorical and normalize

#[test]
fn to_categorical_cases() {
    let one_hot = to_categorical([1usize, 0, 3], None).unwrap();
    assert_eq!(
        one_hot,
        array![
            [0.0f32, 1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0]
        ]
    );
    let y = Array1::<u8>::from(vec![2, 2, 0]);
    assert_eq!(to_categorical(&y, Some(4)).unwrap().shape(), &[3, 4]);
    assert_eq!(
        to_categorical(vec![1.0f32, 0.0], None).unwrap(),
        array![[0.0f32, 1.0], [1.0, 0.0]]
    );
    assert_eq!(
        to_categorical(Vec::<usize>::new(), Some(3))
            .unwrap()
            .shape(),
        &[0, 3]
    );

    let e = to_categorical([0usize, 5, 1], Some(5)).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e:?}");
    assert!(e.to_string().contains("labels[1] = 5"), "{e}");
    assert!(to_categorical([-1i32], None)
        .unwrap_err()
        .to_string()
        .contains("-1"));
    assert!(to_categorical([0.5f32], None).is_err());
    assert!(to_categorical([f32::NAN], None).is_err());
    assert!(to_categorical([0usize], Some(0)).is_err());
    assert!(to_categorical(Vec::<usize>::new(), None).is_err());
    // Absurd sizes are errors, not aborts.
    let e = to_categorical([0usize], Some(usize::MAX / 2)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "num_classes",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(to_categorical([0usize, 1], Some(usize::MAX)).is_err());
    assert!(to_categorical([usize::MAX], None).is_err());
}

#[test]
fn normalize_cases() {
    let x = array![[3.0f32, 4.0], [0.0, 0.0], [-1.0, 1.0]];
    let l2 = normalize(&x, -1, 2).unwrap();
    let r = 1.0 / 2.0f32.sqrt();
    assert_eq!(l2, array![[0.6f32, 0.8], [0.0, 0.0], [-r, r]]);
    assert_eq!(normalize(&x, 1, 2).unwrap(), l2);
    let l1 = normalize(&x, -1, 1).unwrap();
    assert_eq!(
        l1,
        array![[3.0f32 / 7.0, 4.0 / 7.0], [0.0, 0.0], [-0.5, 0.5]]
    );
    // Along axis 0: column norms sqrt(10) and sqrt(17).
    let a0 = normalize(&x, 0, 2).unwrap();
    assert!((a0[[0, 0]] - 3.0 / 10.0f32.sqrt()).abs() < 1e-7);
    assert!((a0[[2, 1]] - 1.0 / 17.0f32.sqrt()).abs() < 1e-7);
    // 3-D and dynamic-dimension input.
    let x3 = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i + j + k) as f32);
    let n3 = normalize(&x3.clone().into_dyn(), -2, 2).unwrap();
    assert_eq!(n3.shape(), &[2, 3, 4]);
    let col: f32 = (0..3).map(|j| n3[[1, j, 2]].powi(2)).sum();
    assert!((col - 1.0).abs() < 1e-6);
    // Order 3.
    let n = normalize(&array![[1.0f32, 1.0]], -1, 3).unwrap();
    assert!((n[[0, 0]] - 2.0f32.powf(-1.0 / 3.0)).abs() < 1e-7);

    // Zero-size arrays.
    assert_eq!(
        normalize(&Array2::<f32>::zeros((2, 0)), -1, 2)
            .unwrap()
            .shape(),
        &[2, 0]
    );
    assert_eq!(
        normalize(&Array2::<f32>::zeros((0, 3)), -1, 1)
            .unwrap()
            .shape(),
        &[0, 3]
    );
    assert_eq!(
        normalize(&Array2::<f32>::zeros((2, 0)), 0, 2)
            .unwrap()
            .shape(),
        &[2, 0]
    );

    for axis in [2isize, -3, isize::MIN, isize::MAX] {
        let e = normalize(&x, axis, 2).unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument { name: "axis", .. }),
            "{e:?}"
        );
    }
    assert!(normalize(&ndarray::arr0(1.0f32).into_dyn(), -1, 2).is_err());
    assert!(normalize(&x, -1, 0).is_err());
    assert!(normalize(&array![[f32::NAN, 1.0]], -1, 2).is_err());
}

// ----------------------------------------------------------------------------------------
// train_test_split and shuffle_arrays

/// x row i holds [i, 10 i]; y[i] = label(i).
fn indexed_data<L>(n: usize, label: impl Fn(usize) -> L) -> (Array2<f32>, Array1<L>) {
    let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * if j == 0 { 1 } else { 10 }) as f32);
    (x, Array1::from_iter((0..n).map(label)))
}

#[test]
fn split_sizes_partition_and_determinism() {
    let (x, y) = indexed_data(101, |i| (i % 3) as f32);
    let (xtr, xte, ytr, yte) = train_test_split(&x, &y, 0.25, 7, false).unwrap();
    // ceil(0.25 * 101) = 26 test samples.
    assert_eq!(
        (xtr.nrows(), xte.nrows(), ytr.len(), yte.len()),
        (75, 26, 75, 26)
    );
    let mut seen = HashSet::new();
    for (xs, ys) in [(&xtr, &ytr), (&xte, &yte)] {
        for (row, &label) in xs.rows().into_iter().zip(ys.iter()) {
            let i = row[0] as usize;
            assert_eq!(row[1], (10 * i) as f32, "row intact");
            assert_eq!(label, (i % 3) as f32, "label stays with its row");
            assert!(seen.insert(i), "sample {i} appears twice");
        }
    }
    assert_eq!(seen.len(), 101);
    // Deterministic for a seed, different across seeds.
    let again = train_test_split(&x, &y, 0.25, 7, false).unwrap();
    assert_eq!(again.1, xte);
    let other = train_test_split(&x, &y, 0.25, 8, false).unwrap();
    assert_ne!(other.1, xte);
    // 0.2 of 100 is 20 (not 21 from 0.2f32's binary value).
    let (x, y) = indexed_data(100, |i| i as u8);
    assert_eq!(
        train_test_split(&x, &y, 0.2, 0, false).unwrap().1.nrows(),
        20
    );
}

#[test]
fn split_stratified_keeps_proportions() {
    // Classes 0/1/2 with 50/30/20 samples, u8 labels; test 20% -> 10/6/4.
    let (x, y) = indexed_data(100, |i| {
        if i < 50 {
            0u8
        } else if i < 80 {
            1
        } else {
            2
        }
    });
    for seed in 0..5 {
        let (xtr, xte, ytr, yte) = train_test_split(&x, &y, 0.2, seed, true).unwrap();
        let count = |ys: &Array1<u8>, c: u8| ys.iter().filter(|&&v| v == c).count();
        assert_eq!([count(&yte, 0), count(&yte, 1), count(&yte, 2)], [10, 6, 4]);
        assert_eq!(
            [count(&ytr, 0), count(&ytr, 1), count(&ytr, 2)],
            [40, 24, 16]
        );
        for (row, &label) in xte.rows().into_iter().zip(yte.iter()) {
            assert_eq!(label, y[row[0] as usize]);
        }
        assert_eq!(xtr.nrows(), 80);
    }
    // Uneven proportions still give exact sizes: 7 of 3 classes (3/3/1).
    let (x, y) = indexed_data(10, |i| {
        [0.0f32, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0][i]
    });
    let (_, xte, _, yte) = train_test_split(&x, &y, 0.3, 3, true).unwrap();
    assert_eq!(xte.nrows(), 3);
    let classes: HashSet<u32> = yte.iter().map(|v| *v as u32).collect();
    assert_eq!(classes.len(), 3, "one of each class in a 3-sample test set");
}

#[test]
fn split_images() {
    let x = Array3::from_shape_fn((20, 4, 4), |(i, _, _)| i as u8);
    let y = Array1::from_iter((0..20u8).map(|i| i % 2));
    let (xtr, xte, ytr, yte) = train_test_split(&x, &y, 0.5, 1, true).unwrap();
    assert_eq!(
        (xtr.shape(), xte.shape()),
        (&[10, 4, 4][..], &[10, 4, 4][..])
    );
    for (img, &label) in xte.outer_iter().zip(yte.iter()) {
        assert!(img.iter().all(|&p| p == img[[0, 0]]));
        assert_eq!(img[[0, 0]] % 2, label);
    }
    assert_eq!(ytr.iter().filter(|&&l| l == 1).count(), 5);
}

#[test]
fn split_errors() {
    let (x, y) = indexed_data(10, |i| (i % 2) as u8);
    for t in [0.0f32, 1.0, -0.5, 1.5, f32::NAN] {
        let e = train_test_split(&x, &y, t, 0, false).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidArgument {
                    name: "test_size",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // 0.01 of 10 rounds up to 1 test sample; 0.95 leaves no train sample.
    assert_eq!(
        train_test_split(&x, &y, 0.01, 0, false).unwrap().1.nrows(),
        1
    );
    assert!(train_test_split(&x, &y, 0.95, 0, false)
        .unwrap_err()
        .to_string()
        .contains("train set would be empty"));
    let short = Array1::from(vec![0u8; 9]);
    let e = train_test_split(&x, &short, 0.2, 0, false).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    // Stratify: a class with one member, a test set smaller than the class count, NaN labels.
    let (x, y) = indexed_data(10, |i| if i == 9 { 2u8 } else { (i % 2) as u8 });
    let e = train_test_split(&x, &y, 0.3, 0, true).unwrap_err();
    assert!(e.to_string().contains("only 1 member"), "{e}");
    let (x, y) = indexed_data(10, |i| (i % 3) as u8);
    let e = train_test_split(&x, &y, 0.1, 0, true).unwrap_err();
    assert!(e.to_string().contains("fewer than the 3 classes"), "{e}");
    let (x, y) = indexed_data(10, |i| if i == 4 { f32::NAN } else { (i % 2) as f32 });
    assert!(train_test_split(&x, &y, 0.3, 0, true)
        .unwrap_err()
        .to_string()
        .contains("y[4]"));
    assert!(train_test_split(
        &ndarray::arr0(1.0f32).into_dyn(),
        &Array1::from(vec![1u8]),
        0.5,
        0,
        false
    )
    .is_err());
}

#[test]
fn shuffle_arrays_permutes_together() {
    let (x, y) = indexed_data(50, |i| i as u32);
    let (xs, ys) = shuffle_arrays(&x, &y, 99).unwrap();
    assert_ne!(ys, y, "shuffled");
    let mut sorted = ys.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..50).collect::<Vec<u32>>());
    for (row, &label) in xs.rows().into_iter().zip(ys.iter()) {
        assert_eq!(row[0] as u32, label);
    }
    assert_eq!(shuffle_arrays(&x, &y, 99).unwrap().1, ys);
    assert!(shuffle_arrays(&x, &Array1::from(vec![0u32; 3]), 0).is_err());
    // Empty arrays shuffle to empty arrays.
    let (e, ey) =
        shuffle_arrays(&Array2::<f32>::zeros((0, 2)), &Array1::<u8>::zeros(0), 1).unwrap();
    assert_eq!((e.nrows(), ey.len()), (0, 0));
}
