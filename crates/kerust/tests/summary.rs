//! `summary()` prints Keras 3's table character for character (fixtures from real Keras).

use kerust::layers::{Activation, Dense, Dropout, Flatten, Input};
use kerust::models::{FitOptions, Sequential};

fn keras_text(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/summary.json");
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    case["text"].as_str().unwrap().to_string()
}

fn seed003() -> Sequential {
    Sequential::new(vec![
        Flatten::new().input_shape(&[28, 28]).into(),
        Dense::new(128).activation("relu").into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap()
}

#[test]
fn the_seed_models_print_as_in_keras() {
    let models: Vec<(&str, Sequential)> = vec![
        (
            "seed000",
            Sequential::new(vec![
                Input::new(&[784]).into(),
                Dense::new(512).activation("sigmoid").into(),
                Dense::new(512).activation("sigmoid").into(),
                Dense::new(10).activation("softmax").into(),
            ])
            .unwrap(),
        ),
        (
            "seed001a",
            Sequential::new(vec![
                Dense::new(3).input_shape(&[2]).activation("relu").into(),
                Dense::new(2).activation("softmax").into(),
            ])
            .unwrap(),
        ),
        (
            "seed001b",
            Sequential::new(vec![
                Dense::new(6).input_shape(&[1]).activation("relu").into(),
                Dense::new(32).activation("relu").into(),
                Dense::new(2).activation("sigmoid").into(),
            ])
            .unwrap(),
        ),
        (
            "seed002",
            Sequential::new(vec![
                Dense::new(64).activation("relu").input_shape(&[784]).into(),
                Dense::new(64).activation("relu").into(),
                Dense::new(10).activation("softmax").into(),
            ])
            .unwrap(),
        ),
        ("seed003", seed003()),
        ("seed004", {
            let mut m = Sequential::empty();
            m.add(Dense::new(32).input_dim(784).activation("sigmoid"))
                .unwrap();
            m.add(Dense::new(10).activation("sigmoid")).unwrap();
            m.add(Dense::new(1).activation("sigmoid")).unwrap();
            m
        }),
        (
            "dropout",
            Sequential::new(vec![
                Input::new(&[20]).into(),
                Dense::new(16).activation("relu").into(),
                Dropout::new(0.5).into(),
                Activation::new("relu").into(),
                Dense::new(4).name("out").into(),
            ])
            .unwrap()
            .with_name("my_model"),
        ),
    ];
    for (name, model) in models {
        assert_eq!(
            model.summary_string(),
            keras_text(name),
            "summary of {name}"
        );
    }
}

#[test]
fn a_trained_model_counts_optimizer_params_as_keras_does() {
    let mut model = seed003();
    model
        .compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    let x = ndarray::Array3::<f32>::zeros((4, 28, 28));
    let y = ndarray::Array1::<u8>::zeros(4);
    model
        .fit(
            &x,
            &y,
            FitOptions {
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(model.summary_string(), keras_text("seed003_compiled"));
}
