//! Tests of the dataset download (cargo feature `download`) against a small HTTP server on
//! 127.0.0.1 that serves the real files from `$KERUST_DATA` or `<workspace>/../shared/datasets`.
//!
//! Every test passes its cache folder and mirror URL through `LoadOptions`: no environment
//! variable is set, and the real home folder is never touched.
#![cfg(feature = "download")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kerust::datasets::{fashion_mnist, mnist, LoadOptions};
use kerust::Error;
use sha2::{Digest, Sha256};

mod common;
use common::{data_root, temp_dir};

/// What the test server does with a request.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Serves the file as it is.
    Good,
    /// Serves the file with one byte changed.
    Corrupt,
    /// Serves the file with 1000 bytes more, announced in Content-Length.
    Oversized,
    /// Serves the file with 1000 bytes more and no Content-Length (ends by closing).
    OversizedUnannounced,
    /// Announces the file's true size in Content-Length, sends the first half of it, then
    /// closes the connection.
    CutOff,
    /// Reads the request and never answers.
    Stall,
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

/// Starts a server in a thread (it lives until the test process ends).
fn serve(root: PathBuf, mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (root, counter) = (root.clone(), counter.clone());
            std::thread::spawn(move || {
                let _ = handle(stream, &root, mode, &counter);
            });
        }
    });
    Server { url, requests }
}

fn handle(
    mut stream: TcpStream,
    root: &Path,
    mode: Mode,
    counter: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    if mode == Mode::Stall {
        std::thread::sleep(Duration::from_secs(30));
        return Ok(());
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let file = root.join(path.trim_start_matches('/'));
    let body = match std::fs::read(&file) {
        Ok(b) if !path.contains("..") => b,
        _ => return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        ),
    };
    let mut body = body;
    match mode {
        Mode::Corrupt => {
            let mid = body.len() / 2;
            body[mid] ^= 0x55;
        }
        Mode::Oversized | Mode::OversizedUnannounced => body.extend_from_slice(&[0u8; 1000]),
        _ => {}
    }
    let head = if mode == Mode::OversizedUnannounced {
        "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n".to_string()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
    };
    stream.write_all(head.as_bytes())?;
    if mode == Mode::CutOff {
        stream.write_all(&body[..body.len() / 2])?;
        stream.flush()?;
        return stream.shutdown(std::net::Shutdown::Both);
    }
    stream.write_all(&body)?;
    stream.flush()
}

/// A URL where nothing listens.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn options(cache: &Path, url: &str) -> LoadOptions {
    LoadOptions::new()
        .cache_root(cache)
        .mirror_url(url)
        .timeout(Duration::from_secs(20))
        .verbose(false)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn sorted_files(spec_files: [&str; 4]) -> Vec<String> {
    let mut v: Vec<String> = spec_files.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn download_fills_the_cache_then_loads_without_network() {
    let server = serve(data_root(), Mode::Good);
    let cache = temp_dir("good");
    let opts = options(&cache, &server.url);

    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data_with(&opts).unwrap();
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(y_train[0], 5);
    assert_eq!((x_test.shape()[0], y_test.len()), (10000, 10000));
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    let dir = cache.join("mnist");
    assert_eq!(entries(&dir), sorted_files(mnist::SPEC.file_names()));
    mnist::SPEC.verify(&dir).unwrap();

    // Second load: from the cache, with no server at all.
    let offline = options(&cache, &dead_url());
    let again = mnist::load_data_with(&offline).unwrap();
    assert_eq!(again.1 .1, y_test);
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    assert_eq!(mnist::SPEC.fetch(&offline).unwrap(), dir);

    // A cache missing one file: only that file is downloaded.
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    mnist::load_data_with(&opts).unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 5);
    assert_eq!(entries(&dir).len(), 4);

    // Fashion-MNIST from the same mirror, into its own cache folder.
    let ((_, y_train), _) = fashion_mnist::load_data_with(&opts).unwrap();
    assert_eq!(
        fashion_mnist::CLASS_NAMES[y_train[0] as usize],
        "Ankle boot"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 9);
    assert_eq!(
        entries(&cache),
        vec!["fashion-mnist".to_string(), "mnist".to_string()]
    );
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn local_folders_come_before_the_cache_and_the_network() {
    let server = serve(data_root(), Mode::Good);
    let cache = temp_dir("local");
    let opts = options(&cache, &server.url).data_dir(data_root());
    let data = mnist::load_data_with(&opts).unwrap();
    assert_eq!(data.0 .1[0], 5);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    assert!(entries(&cache).is_empty());
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn corrupted_download_is_refused_and_not_cached() {
    let server = serve(data_root(), Mode::Corrupt);
    let cache = temp_dir("corrupt");
    let err = mnist::load_data_with(&options(&cache, &server.url)).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let msg = err.to_string();

    let mut corrupted =
        std::fs::read(data_root().join("mnist/train-images-idx3-ubyte.gz")).unwrap();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0x55;
    let got: String = Sha256::digest(&corrupted)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
    assert!(
        msg.contains(mnist::SPEC.files[0].1),
        "expected hash missing: {msg}"
    );
    assert!(msg.contains(&got), "actual hash missing: {msg}");
    assert!(msg.contains("nothing was cached"), "{msg}");
    // Nothing in the cache: neither the file nor a temporary file.
    assert!(
        entries(&cache.join("mnist")).is_empty(),
        "{:?}",
        entries(&cache.join("mnist"))
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn oversized_download_is_refused() {
    for (mode, expected) in [
        (Mode::Oversized, "announces 9913422 bytes"),
        (Mode::OversizedUnannounced, "larger than the 9912422 bytes"),
    ] {
        let server = serve(data_root(), mode);
        let cache = temp_dir("oversized");
        let err = mnist::load_data_with(&options(&cache, &server.url)).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(expected), "{msg}");
        assert!(msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
        assert!(entries(&cache.join("mnist")).is_empty());
        std::fs::remove_dir_all(cache).unwrap();
    }
}

#[test]
fn download_cut_off_midway_fails_and_leaves_nothing() {
    let server = serve(data_root(), Mode::CutOff);
    let cache = temp_dir("cutoff");
    let err = mnist::load_data_with(&options(&cache, &server.url)).unwrap_err();
    let msg = err.to_string();
    let (name, size) = (mnist::SPEC.files[0].0, mnist::SPEC.sizes[0]);
    // The first file broke off: the error names its URL, how much of it came, and where the
    // files were looked for.
    assert!(
        msg.contains(&format!("{}/mnist/{name}", server.url)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("broke off after {} of {size} bytes", size / 2)),
        "{msg}"
    );
    assert!(
        msg.contains(&cache.join("mnist").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("KERUST_DATA"), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    // Nothing kept: neither the file nor a temporary file, and no second file was tried.
    assert!(
        entries(&cache.join("mnist")).is_empty(),
        "{:?}",
        entries(&cache.join("mnist"))
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn server_down_error_says_where_it_looked() {
    let cache = temp_dir("down");
    let url = dead_url();
    let data = temp_dir("down-data");
    let err = fashion_mnist::load_data_with(&options(&cache, &url).data_dir(&data)).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let msg = err.to_string();
    // Every place searched, the URL that failed, and how to provide the files.
    assert!(
        msg.contains(&data.join("fashion-mnist").display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains(&cache.join("fashion-mnist").display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{url}/fashion-mnist/train-images-idx3-ubyte.gz")),
        "{msg}"
    );
    assert!(msg.contains("failed"), "{msg}");
    assert!(msg.contains("KERUST_DATA"), "{msg}");
    assert!(msg.contains(fashion_mnist::SPEC.base_url), "{msg}");
    assert!(entries(&cache.join("fashion-mnist")).is_empty());

    // A server without the files: HTTP 404 in the message.
    let empty_root = temp_dir("empty-root");
    let server = serve(empty_root.clone(), Mode::Good);
    let msg = mnist::load_data_with(&options(&cache, &server.url))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("404"), "{msg}");
    std::fs::remove_dir_all(empty_root).unwrap();
    assert!(entries(&cache.join("mnist")).is_empty());

    // Downloading turned off: no request at all.
    let server = serve(data_root(), Mode::Good);
    let msg = mnist::load_data_with(&options(&cache, &server.url).download(false))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("turned off"), "{msg}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    std::fs::remove_dir_all(cache).unwrap();
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn stalled_server_times_out() {
    let server = serve(data_root(), Mode::Stall);
    let cache = temp_dir("stall");
    let start = Instant::now();
    let err =
        mnist::load_data_with(&options(&cache, &server.url).timeout(Duration::from_millis(500)))
            .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let msg = err.to_string();
    assert!(
        msg.to_lowercase().contains("timeout") || msg.contains("timed out"),
        "{msg}"
    );
    assert!(entries(&cache.join("mnist")).is_empty());
    std::fs::remove_dir_all(cache).unwrap();
}
