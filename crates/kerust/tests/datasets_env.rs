//! Where `load_data()` finds MNIST with the environment it reads: `KERUST_DATA`, the cache
//! (`$KERUST_CACHE`, else `$HOME/.kerust/datasets`) and the download mirror
//! (`KERUST_DATA_URL`).
//!
//! These tests change environment variables, so they live in their own test binary (no other
//! test reads the environment while they run) and take [`ENV_LOCK`] one at a time. Each place
//! holds a small, valid but different fake MNIST, so the loaded arrays tell which place won.
//! The real home folder and the real datasets are never read, and nothing goes to the network:
//! the mirror is a closed port on 127.0.0.1.

use std::ffi::OsString;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use flate2::write::GzEncoder;
use flate2::Compression;
use kerust::datasets::mnist;

mod common;
use common::temp_dir;

/// Held by every test of this binary while it changes and reads the environment.
static ENV_LOCK: Mutex<()> = Mutex::new(());

/// The variables `LoadOptions::from_env` reads.
const VARS: [&str; 5] = [
    "KERUST_DATA",
    "KERUST_CACHE",
    "KERUST_DATA_URL",
    "HOME",
    "USERPROFILE",
];

/// Sets the environment for one test and puts the old values back when dropped (a failing
/// test included).
struct Env {
    saved: Vec<(&'static str, Option<OsString>)>,
    _lock: MutexGuard<'static, ()>,
}

impl Env {
    /// `KERUST_DATA`, `KERUST_CACHE` and `USERPROFILE` unset, `HOME` set to `home`, and
    /// `KERUST_DATA_URL` set to a port where nothing listens.
    fn new(home: &Path) -> Env {
        let lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let saved = VARS.iter().map(|&v| (v, std::env::var_os(v))).collect();
        for v in VARS {
            std::env::remove_var(v);
        }
        std::env::set_var("HOME", home);
        std::env::set_var("KERUST_DATA_URL", dead_url());
        Env { saved, _lock: lock }
    }

    fn set(&self, var: &str, value: impl AsRef<std::ffi::OsStr>) {
        std::env::set_var(var, value);
    }

    fn remove(&self, var: &str) {
        std::env::remove_var(var);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for (var, value) in &self.saved {
            match value {
                Some(v) => std::env::set_var(var, v),
                None => std::env::remove_var(var),
            }
        }
    }
}

/// A URL where nothing listens.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes the four MNIST files into `dir`: `tag` training images and 2 test images of
/// 28 x 28 pixels, every pixel `tag`, labels `tag % 10`. The training-set size and the pixels
/// tell which folder a load read.
fn write_fake_mnist(dir: &Path, tag: u8) {
    std::fs::create_dir_all(dir).unwrap();
    let images = |n: u32| {
        let mut b: Vec<u8> = [2051u32, n, 28, 28]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        b.extend(std::iter::repeat_n(tag, n as usize * 28 * 28));
        b
    };
    let labels = |n: u32| {
        let mut b: Vec<u8> = [2049u32, n].iter().flat_map(|w| w.to_be_bytes()).collect();
        b.extend(std::iter::repeat_n(tag % 10, n as usize));
        b
    };
    let [train_x, train_y, test_x, test_y] = mnist::SPEC.file_names();
    std::fs::write(dir.join(train_x), gz(&images(u32::from(tag)))).unwrap();
    std::fs::write(dir.join(train_y), gz(&labels(u32::from(tag)))).unwrap();
    std::fs::write(dir.join(test_x), gz(&images(2))).unwrap();
    std::fs::write(dir.join(test_y), gz(&labels(2))).unwrap();
}

/// The tag of the fake MNIST that `mnist::load_data()` returns (checking it is one whole fake).
fn loaded_tag() -> u8 {
    let data = mnist::load_data().unwrap_or_else(|e| panic!("load_data failed: {e}"));
    tag_of(&data)
}

fn tag_of(data: &kerust::datasets::ImageData) -> u8 {
    let ((x_train, y_train), (x_test, y_test)) = data;
    let tag = x_train[[0, 0, 0]];
    assert_eq!(x_train.shape(), [usize::from(tag), 28, 28]);
    assert!(x_train.iter().chain(x_test.iter()).all(|&p| p == tag));
    assert!(y_train.iter().chain(y_test.iter()).all(|&l| l == tag % 10));
    assert_eq!(x_test.shape(), [2, 28, 28]);
    tag
}

/// Every file and folder under `dir`, for "nothing was written" checks.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn load_data_reads_kerust_data() {
    let home = temp_dir("env-home");
    let data = temp_dir("env-data");
    let env = Env::new(&home);
    // `$KERUST_DATA/mnist/`.
    write_fake_mnist(&data.join("mnist"), 3);
    env.set("KERUST_DATA", &data);
    assert_eq!(loaded_tag(), 3);
    // `$KERUST_DATA/` itself, holding the four files directly.
    let flat = temp_dir("env-flat");
    write_fake_mnist(&flat, 4);
    env.set("KERUST_DATA", &flat);
    assert_eq!(loaded_tag(), 4);
    // Found locally: nothing downloaded, nothing written to the home folder.
    assert!(tree(&home).is_empty(), "{:?}", tree(&home));
    drop(env);
    for d in [home, data, flat] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn load_data_with_no_files_and_no_network_explains() {
    let home = temp_dir("env-nohome");
    let data = temp_dir("env-empty");
    let env = Env::new(&home);
    env.set("KERUST_DATA", &data);
    let url = std::env::var("KERUST_DATA_URL").unwrap();
    let err = mnist::load_data().unwrap_err();
    assert!(
        matches!(&err, kerust::Error::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let msg = err.to_string();
    let cache = home.join(".kerust").join("datasets").join("mnist");
    // Every place looked in, in order, with what was wrong there.
    let places = [
        format!(
            "1. $KERUST_DATA/mnist -> {}: no such folder",
            data.join("mnist").display()
        ),
        format!(
            "2. $KERUST_DATA -> {}: missing {}",
            data.display(),
            mnist::SPEC.file_names().join(", ")
        ),
        format!("3. the kerust cache -> {}: no such folder", cache.display()),
    ];
    let mut at = 0;
    for place in &places {
        let found = msg[at..]
            .find(place.as_str())
            .unwrap_or_else(|| panic!("`{place}` missing or out of order in:\n{msg}"));
        at += found + place.len();
    }
    // The download that failed (or why none was tried), and how to provide the files.
    if cfg!(feature = "download") {
        let tried = format!(
            "Downloading {url}/mnist/train-images-idx3-ubyte.gz into {} failed",
            cache.display()
        );
        assert!(msg.contains(&tried), "{msg}");
    } else {
        assert!(msg.contains("without its `download` feature"), "{msg}");
    }
    assert!(
        msg.contains("set the KERUST_DATA environment variable"),
        "{msg}"
    );
    assert!(msg.contains(mnist::SPEC.base_url), "{msg}");
    assert!(msg.contains(&cache.display().to_string()), "{msg}");
    // A failed connection writes nothing: no cache folder in the home folder.
    assert!(tree(&home).is_empty(), "{:?}", tree(&home));
    assert!(tree(&data).is_empty(), "{:?}", tree(&data));

    // Without a home folder there is no cache to look in or download into: the message says so.
    env.remove("HOME");
    let msg = mnist::load_data().unwrap_err().to_string();
    assert!(
        msg.contains(
            "3. the kerust cache -> unknown (none of KERUST_CACHE, HOME and USERPROFILE is set)"
        ),
        "{msg}"
    );
    if cfg!(feature = "download") {
        assert!(msg.contains("no cache folder to download into"), "{msg}");
    }
    drop(env);
    std::fs::remove_dir_all(home).unwrap();
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn kerust_data_wins_over_the_cache() {
    let home = temp_dir("env-cachehome");
    let data = temp_dir("env-first");
    let cache_root = temp_dir("env-cacheroot");
    let env = Env::new(&home);
    write_fake_mnist(&home.join(".kerust/datasets/mnist"), 5);
    write_fake_mnist(&data.join("mnist"), 3);
    write_fake_mnist(&cache_root.join("mnist"), 7);

    // Both KERUST_DATA and the home cache hold MNIST: KERUST_DATA wins.
    env.set("KERUST_DATA", &data);
    assert_eq!(loaded_tag(), 3);
    // Also over a KERUST_CACHE cache.
    env.set("KERUST_CACHE", &cache_root);
    assert_eq!(loaded_tag(), 3);
    // Without KERUST_DATA: the cache, KERUST_CACHE's before the home folder's.
    env.remove("KERUST_DATA");
    assert_eq!(loaded_tag(), 7);
    env.remove("KERUST_CACHE");
    assert_eq!(loaded_tag(), 5);
    // A KERUST_DATA folder without MNIST falls through to the cache.
    let other = temp_dir("env-other");
    env.set("KERUST_DATA", &other);
    assert_eq!(loaded_tag(), 5);
    drop(env);
    for d in [home, data, cache_root, other] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn explicit_directory_wins_over_kerust_data_and_the_cache() {
    let home = temp_dir("env-exphome");
    let data = temp_dir("env-expdata");
    let explicit = temp_dir("env-explicit");
    let env = Env::new(&home);
    write_fake_mnist(&home.join(".kerust/datasets/mnist"), 5);
    write_fake_mnist(&data.join("mnist"), 3);
    write_fake_mnist(&explicit.join("mnist"), 9);
    env.set("KERUST_DATA", &data);
    assert_eq!(loaded_tag(), 3);
    // The folder given to load_data_from is read, whatever KERUST_DATA and the cache hold;
    // directly or through its `mnist/` subfolder.
    assert_eq!(tag_of(&mnist::load_data_from(&explicit).unwrap()), 9);
    assert_eq!(
        tag_of(&mnist::load_data_from(explicit.join("mnist")).unwrap()),
        9
    );
    // An explicit folder without the files is an error naming it, never a fallback.
    let empty = temp_dir("env-expempty");
    let msg = mnist::load_data_from(&empty).unwrap_err().to_string();
    assert!(msg.contains(&empty.display().to_string()), "{msg}");
    assert!(!msg.contains(&data.display().to_string()), "{msg}");
    drop(env);
    for d in [home, data, explicit, empty] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
