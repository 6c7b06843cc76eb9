//! Atomic file writes: a temporary file in the destination's folder, flushed to disk, then
//! renamed over the destination, so that a reader never sees a half-written file.
//!
//! The temporary file is removed when the write fails or panics (the guard's `Drop`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// A temporary file beside its destination, deleted on drop unless committed.
pub(crate) struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates `.<name>.<pid>.<n>.tmp` in the folder of `dest`.
    pub(crate) fn beside(dest: &Path) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kerust".to_string());
        loop {
            let path = dir.join(format!(
                ".{name}.{}.{}.tmp",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match File::options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The open temporary file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("TempFile used after commit")
    }

    /// Flushes the data to disk and renames the temporary file to `dest`.
    pub(crate) fn commit(mut self, dest: &Path) -> std::io::Result<()> {
        let file = self.file.take().expect("TempFile committed twice");
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.path, dest)?;
        // The rename is durable once the folder is synced too (best effort: not on every OS).
        #[cfg(unix)]
        if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `dest` atomically with `write`, which gets a buffered writer on a temporary file.
///
/// On any error nothing is left behind: `dest` keeps its old content (or stays absent).
pub(crate) fn write_atomic(
    dest: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let io = |e| Error::io(dest, e);
    let mut tmp = TempFile::beside(dest).map_err(io)?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, tmp.file());
        write(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
    }
    tmp.commit(dest).map_err(io)?;
    remove_stale_temps(dest);
    Ok(())
}

/// Removes the temporary files of `dest` left by processes that died mid-write (`kill -9`,
/// power loss): `.<name>.<pid>.<n>.tmp` whose process no longer runs. Best effort, and only
/// where a process can be looked up (Linux's `/proc`); a live writer's file is never touched.
fn remove_stale_temps(dest: &Path) {
    let proc_fs = Path::new("/proc/self");
    if !proc_fs.exists() {
        return;
    }
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for e in entries.flatten() {
        let file = e.file_name();
        let file = file.to_string_lossy();
        let Some(rest) = file
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(pid), true) = (pid.parse::<u32>(), n.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("kerust-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out.bin");
        write_atomic(&dest, |w| w.write_all(b"first")).unwrap();
        let err = write_atomic(&dest, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("boom"));
        assert_eq!(std::fs::read(&dest).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_files_of_dead_writers_are_removed_by_the_next_write() {
        let dir = std::env::temp_dir().join(format!("kerust-atomic-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("m.keras");
        // A pid above Linux's maximum (4194304) never runs; our own pid always does.
        let dead = dir.join(".m.keras.4294967295.0.tmp");
        let ours = dir.join(format!(".m.keras.{}.999999.tmp", std::process::id()));
        let other = dir.join(".other.keras.4294967295.0.tmp");
        for p in [&dead, &ours, &other] {
            std::fs::write(p, b"half").unwrap();
        }
        write_atomic(&dest, |w| w.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert_eq!(!dead.exists(), Path::new("/proc/self").exists());
        assert!(ours.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
