//! Finite-difference checks of every layer's backward pass, for every activation, and of
//! whole-model gradients for every loss (fused and unfused output paths, regularizers).

use kerust::layers::{Activation as ActivationLayer, Dense, Dropout, Flatten, Layer, Regularizer};
use kerust::losses::NAMES as LOSSES;
use kerust::models::Sequential;
use kerust::optimizers::SGD;
use kerust::Rng;
use ndarray::{Array1, Array2};

#[path = "common/finite_diff.rs"]
mod finite_diff;
use finite_diff::{agree, Check};

/// Checks dL/dx and dL/d(every fifth parameter entry) of `make()` by central differences.
fn check_layer(name: &str, make: &dyn Fn() -> Box<dyn Layer>, in_shape: &[usize], batch: usize) {
    let how = Check {
        distinct_inputs: false,
        param_stride: 5,
    };
    finite_diff::check_layer(name, make, in_shape, batch, how)
}

#[test]
fn dense_backward_is_right_for_every_activation() {
    for act in kerust::activations::NAMES {
        check_layer(
            &format!("Dense({act})"),
            &|| Box::new(Dense::new(4).activation(*act)),
            &[5],
            3,
        );
    }
}

#[test]
fn dense_without_bias_and_on_3d_inputs() {
    check_layer(
        "Dense(no bias)",
        &|| Box::new(Dense::new(3).use_bias(false).activation("tanh")),
        &[4],
        2,
    );
    check_layer(
        "Dense(3d)",
        &|| Box::new(Dense::new(3).activation("sigmoid")),
        &[2, 4],
        2,
    );
}

#[test]
fn activation_flatten_and_dropout_layers() {
    for act in kerust::activations::NAMES {
        check_layer(
            &format!("Activation({act})"),
            &|| Box::new(ActivationLayer::new(*act)),
            &[6],
            2,
        );
    }
    check_layer("Flatten", &|| Box::new(Flatten::new()), &[2, 3], 2);
    check_layer("Dropout", &|| Box::new(Dropout::new(0.4).seed(9)), &[8], 3);
}

/// Model-level gradients: loss(weights) through two layers for every loss, compared with
/// the gradients `train_on_batch` leaves in the parameters (SGD with learning rate 0).
#[test]
fn every_loss_backpropagates_correct_weight_gradients() {
    let mut rng = Rng::new(3);
    let x = Array2::from_shape_fn((6, 3), |_| rng.uniform_range(-1.0, 1.0));
    for loss in LOSSES {
        let (out_act, units, y): (&str, usize, ndarray::ArrayD<f32>) = match *loss {
            "sparse_categorical_crossentropy" | "scce" => (
                "softmax",
                3,
                Array1::from_vec(vec![0., 1., 2., 1., 0., 2.]).into_dyn(),
            ),
            "categorical_crossentropy"
            | "cce"
            | "kl_divergence"
            | "kld"
            | "kullback_leibler_divergence"
            | "categorical_hinge" => (
                "softmax",
                3,
                Array2::from_shape_fn((6, 3), |(i, j)| ((i % 3) == j) as u8 as f32).into_dyn(),
            ),
            "binary_crossentropy" | "bce" => (
                "sigmoid",
                2,
                Array2::from_shape_fn((6, 2), |(i, j)| ((i + j) % 2) as f32).into_dyn(),
            ),
            "hinge" | "squared_hinge" => (
                "tanh",
                2,
                Array2::from_shape_fn((6, 2), |(i, j)| if (i + j) % 2 == 0 { 1.0 } else { -1.0 })
                    .into_dyn(),
            ),
            "poisson"
            | "mean_squared_logarithmic_error"
            | "msle"
            | "mean_absolute_percentage_error"
            | "mape" => (
                "softplus",
                2,
                Array2::from_shape_fn((6, 2), |(i, j)| 0.5 + (i * 2 + j) as f32 * 0.1).into_dyn(),
            ),
            _ => (
                "linear",
                2,
                Array2::from_shape_fn((6, 2), |(i, j)| (i as f32 - j as f32) * 0.3).into_dyn(),
            ),
        };
        let build = || {
            let mut m = Sequential::empty();
            m.set_seed(17);
            m.add(
                Dense::new(4)
                    .activation("tanh")
                    .input_dim(3)
                    .kernel_regularizer(Regularizer::L2(0.01)),
            )
            .unwrap();
            m.add(
                Dense::new(units)
                    .activation(out_act)
                    .bias_regularizer(Regularizer::L1(0.02)),
            )
            .unwrap();
            m.compile(SGD::new(0.0), *loss, ()).unwrap();
            m
        };
        let mut model = build();
        model.train_on_batch(&x, &y).unwrap();
        let grads: Vec<Vec<f32>> = model
            .layers()
            .iter()
            .flat_map(|l| l.params().iter().map(|p| p.grad.data().to_vec()))
            .collect();
        let weights = model.get_weights();
        let h = 1e-2f32;
        for (wi, w) in weights.iter().enumerate() {
            for k in (0..w.len()).step_by(3) {
                let eval = |delta: f32| {
                    let mut m = build();
                    let mut ws = weights.clone();
                    ws[wi].as_slice_mut().unwrap()[k] += delta;
                    m.set_weights(&ws).unwrap();
                    m.test_on_batch(&x, &y).unwrap().loss() as f64
                };
                let fd = (eval(h) - eval(-h)) / (2.0 * h as f64);
                agree(&format!("{loss}: weight {wi}[{k}]"), grads[wi][k], fd);
            }
        }
    }
}
