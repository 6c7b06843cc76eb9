//! Downloading dataset files into the cache (cargo feature `download`).
//!
//! Each file is streamed into a temporary file beside its destination while its SHA-256 is
//! computed; it is renamed into place only when its size and hash are those of the original
//! release. A response larger than the known size is cut off and refused. A failed or refused
//! download leaves nothing behind.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{hex, DatasetSpec, LoadOptions};
use crate::atomic::TempFile;
use crate::Error;

/// Why a download did not produce the file.
pub(crate) enum Failure {
    /// The network or the server failed (offline, refused, timeout, HTTP error): the caller
    /// reports every place searched and how to provide the files.
    Network {
        /// The URL that failed.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with the wrong bytes, or the cache cannot be written.
    Fatal(Error),
}

/// Downloads into `cache` each file of `spec` that is not there yet.
pub(crate) fn fetch_missing(
    spec: &DatasetSpec,
    cache: &Path,
    options: &LoadOptions,
) -> Result<(), Failure> {
    let urls = spec.urls(options.mirror_url.as_deref());
    let agent = agent(options, &urls[0]);
    for (((name, sha256), &size), url) in spec.files.iter().zip(&spec.sizes).zip(&urls) {
        let dest = cache.join(name);
        if dest.is_file() {
            continue;
        }
        if options.verbose {
            eprintln!("Downloading data from {url}");
        }
        download_file(&agent, url, &dest, sha256, size)?;
    }
    Ok(())
}

fn agent(options: &LoadOptions, url: &str) -> ureq::Agent {
    let t = Some(options.timeout);
    let config = ureq::Agent::config_builder()
        .timeout_resolve(t)
        .timeout_connect(t)
        .timeout_send_request(t)
        .timeout_recv_response(t)
        .timeout_per_read(t)
        .http_status_as_error(false)
        .max_redirects(5)
        .user_agent(concat!("kerust/", env!("CARGO_PKG_VERSION")));
    // A proxy from the environment must not capture a mirror on this machine.
    let config = if is_loopback(url) {
        config.proxy(None)
    } else {
        config
    };
    config.build().into()
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| &h[1..])
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A refused download: the file named by its URL, what was wrong, and that nothing was kept.
fn refused(url: &str, reason: String) -> Failure {
    Failure::Fatal(Error::Format {
        format: "downloaded",
        path: url.to_string(),
        reason: format!("{reason}; the download was discarded and nothing was cached"),
    })
}

fn download_file(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    sha256: &str,
    size: u64,
) -> Result<(), Failure> {
    let network = |reason: String| Failure::Network {
        url: url.to_string(),
        reason,
    };
    let mut response = agent.get(url).call().map_err(|e| network(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(network(format!("the server answered HTTP {status}")));
    }
    if let Some(announced) = response.body().content_length() {
        if announced != size {
            return Err(refused(
                url,
                format!(
                    "the server announces {announced} bytes, but the original file has {size} bytes"
                ),
            ));
        }
    }
    let fatal_io = |e| Failure::Fatal(Error::io(dest, e));
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::Fatal(Error::io(dir, e)))?;
    }
    let mut tmp = TempFile::beside(dest).map_err(fatal_io)?;
    // One byte more than the known size is enough to tell that the response is too large.
    let mut body = response.body_mut().as_reader().take(size + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(network(format!(
                    "the transfer broke off after {received} of {size} bytes: {e}"
                )))
            }
        };
        received += n as u64;
        if received > size {
            return Err(refused(
                url,
                format!("the response is larger than the {size} bytes of the original file"),
            ));
        }
        hasher.update(&buf[..n]);
        tmp.file().write_all(&buf[..n]).map_err(fatal_io)?;
    }
    let got = hex(&hasher.finalize());
    if received != size || got != sha256 {
        let name = dest
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        return Err(refused(
            url,
            format!(
                "{name} is corrupt: its SHA-256 is {got} but the original's is {sha256} \
                 ({received} bytes received, {size} expected)"
            ),
        ));
    }
    tmp.commit(dest).map_err(fatal_io)
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:8080/mnist/x.gz"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:80/x"));
        assert!(is_loopback("http://user@127.0.0.2/"));
        assert!(!is_loopback(
            "https://storage.googleapis.com/cvdf-datasets/mnist/"
        ));
        assert!(!is_loopback("http://10.0.0.1/"));
    }
}
