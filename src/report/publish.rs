//! Putting a run directory in place atomically.
//!
//! The run is written into a staging directory beside the target
//! (`reports/.2026-10.staging-<pid>`), then swapped with the previous run in
//! one `renameat2(RENAME_EXCHANGE)` on Linux, so that at every instant
//! `reports/2026-10` is either the whole previous run or the whole new one:
//! a run killed at any point never leaves half a report, and the previous
//! one stays as it was until the new one is complete. Where the exchange is
//! not available, two renames (previous aside, new in) leave a moment
//! without the directory. Staging and old directories left by killed runs
//! (their process is gone) are removed by the next run.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};

use anyhow::{Context, Result};

use crate::bad_input;

/// A run directory being written: files go into the staging directory as
/// they are made (a large `sends.csv` never sits in memory whole), and
/// [`Staging::publish`] swaps it into place. Dropped unpublished (an error
/// on the way), it removes itself and the previous run stays.
pub struct Staging {
    dir: PathBuf,
    out_dir: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates the staging directory beside `out_dir` (with `charts/` and
    /// `tables/`), after removing what killed runs left there.
    pub fn create(out_dir: &Path) -> Result<Self> {
        let dir = sibling(out_dir, "staging", std::process::id());
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| unwritable(out_dir, e))?;
        }
        remove_leftovers(out_dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir(&dir).map_err(|e| unwritable(out_dir, e))?;
        let staging = Staging {
            dir,
            out_dir: out_dir.to_path_buf(),
            published: false,
        };
        for sub in ["charts", "tables"] {
            std::fs::create_dir_all(staging.dir.join(sub)).map_err(|e| unwritable(out_dir, e))?;
        }
        Ok(staging)
    }

    /// The staging directory (files written here are published with it).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes one whole file of the run (`name` relative to the run).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    }

    /// Writes one file of the run through a buffered writer whose buffers
    /// reach the file on a thread of its own ([`HandOff`]).
    pub fn write_with(
        &self,
        name: &str,
        fill: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let file = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        std::thread::scope(|scope| {
            let (full, to_write) = mpsc::sync_channel::<Vec<u8>>(BUFFERS_QUEUED);
            let (written, empty) = mpsc::sync_channel::<Vec<u8>>(BUFFERS_QUEUED + 1);
            let writer = scope.spawn(move || write_buffers(file, to_write, written));
            let mut out = HandOff {
                buffer: Vec::with_capacity(BUFFER_BYTES),
                full: Some(full),
                empty,
            };
            let filled = fill(&mut out).and_then(|()| Ok(out.finish()?));
            drop(out);
            let stored = writer.join().expect("the file writer thread panicked");
            // A failed write stops the writer, and then the filling fails
            // too: the write's error is the cause.
            stored.with_context(|| format!("writing {}", path.display()))?;
            filled.with_context(|| format!("writing {}", path.display()))
        })
    }

    /// Puts the run in place of `out_dir` (docs/outputs.md are complete
    /// or absent, never half written).
    pub fn publish(mut self) -> Result<()> {
        self.published = true;
        replace_dir(&self.dir, &self.out_dir)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Bytes of a file handed to its writer thread at a time.
const BUFFER_BYTES: usize = 8 << 20;

/// Full buffers waiting for the writer thread.
const BUFFERS_QUEUED: usize = 2;

/// The writer `Staging::write_with` fills: bytes collect in a buffer, and a
/// full buffer goes to the thread that writes the file, so the kernel's copy
/// of it into the page cache overlaps the formatting of the next (writing
/// `sends.csv` of 9.7M rows spent a third of its time inside `write`, with
/// the formatting threads idle). Written buffers come back to be refilled.
struct HandOff {
    buffer: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
}

impl HandOff {
    fn hand_off(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = match self.empty.try_recv() {
            Ok(mut recycled) => {
                recycled.clear();
                recycled
            }
            Err(_) => Vec::with_capacity(BUFFER_BYTES),
        };
        let full = std::mem::replace(&mut self.buffer, next);
        let stopped = || io::Error::new(io::ErrorKind::BrokenPipe, "the file writer stopped");
        self.full
            .as_ref()
            .ok_or_else(stopped)?
            .send(full)
            .map_err(|_| stopped())
    }

    /// Hands off the last bytes and closes the channel, so the writer
    /// thread ends once it has written them.
    fn finish(&mut self) -> io::Result<()> {
        let handed = self.hand_off();
        self.full = None;
        handed
    }
}

impl Write for HandOff {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BUFFER_BYTES {
            self.hand_off()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_off()
    }
}

/// The writer thread: writes buffers in the order they come, returning
/// each to be refilled, until the channel closes or a write fails.
fn write_buffers(
    mut file: File,
    to_write: Receiver<Vec<u8>>,
    written: SyncSender<Vec<u8>>,
) -> io::Result<()> {
    for buffer in to_write {
        file.write_all(&buffer)?;
        let _ = written.try_send(buffer);
    }
    file.flush()
}

fn unwritable(out_dir: &Path, e: std::io::Error) -> anyhow::Error {
    bad_input!(
        "{}: cannot write the run directory there ({e}); choose another --out",
        out_dir.display()
    )
}

/// `reports/2026-10` → `reports/.2026-10.staging-<pid>`.
fn sibling(out_dir: &Path, what: &str, pid: u32) -> PathBuf {
    out_dir.with_file_name(format!(".{}.{what}-{pid}", base_name(out_dir)))
}

fn base_name(out_dir: &Path) -> String {
    out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

fn replace_dir(staging: &Path, out_dir: &Path) -> Result<()> {
    if out_dir.exists() && exchange(staging, out_dir)? {
        // `staging` now holds the previous run.
        return std::fs::remove_dir_all(staging)
            .with_context(|| format!("removing the previous run from {}", staging.display()));
    }
    let old = sibling(out_dir, "old", std::process::id());
    let had_previous = out_dir.exists();
    if had_previous {
        std::fs::rename(out_dir, &old)
            .with_context(|| format!("moving the previous {} aside", out_dir.display()))?;
    }
    std::fs::rename(staging, out_dir)
        .with_context(|| format!("moving the new run into {}", out_dir.display()))?;
    if had_previous {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(())
}

/// Swaps two directories in one step; `false` where the system cannot.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = |p: &Path| CString::new(p.as_os_str().as_bytes()).context("a path with a NUL byte");
    let (a_c, b_c) = (path(a)?, path(b)?);
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a_c.as_ptr(),
            libc::AT_FDCWD,
            b_c.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EXDEV) => Ok(false),
        _ => Err(error).with_context(|| format!("swapping {} into place", b.display())),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_a: &Path, _b: &Path) -> Result<bool> {
    Ok(false)
}

/// Removes `.name.staging-<pid>` and `.name.old-<pid>` directories whose
/// process no longer runs (killed runs). Best effort: a failure here only
/// leaves the directory where it was.
fn remove_leftovers(out_dir: &Path) {
    let Some(parent) = out_dir.parent() else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.", base_name(out_dir));
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest
            .strip_prefix("staging-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !process_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of a pattern that does not repeat at buffer boundaries.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn handed_off_bytes_reach_the_file_in_order() {
        let root = tempfile::tempdir().unwrap();
        let run = Staging::create(&root.path().join("run")).unwrap();
        let expected = pattern(BUFFER_BYTES * 2 + 12_345);
        run.write_with("big.bin", |out| {
            // Pieces of uneven sizes, one larger than a buffer, and flushes
            // between them.
            let mut rest = &expected[..];
            for (i, size) in [1, 4095, BUFFER_BYTES + 3, 17, 1 << 20]
                .iter()
                .cycle()
                .enumerate()
            {
                let take = (*size).min(rest.len());
                out.write_all(&rest[..take])?;
                rest = &rest[take..];
                if i % 3 == 0 {
                    out.flush()?;
                }
                if rest.is_empty() {
                    return Ok(());
                }
            }
            unreachable!()
        })
        .unwrap();
        let written = std::fs::read(run.dir.join("big.bin")).unwrap();
        assert_eq!(written.len(), expected.len());
        assert!(
            written == expected,
            "the file differs from the bytes written"
        );
    }

    #[test]
    fn a_failed_fill_names_the_file_and_leaves_no_run() {
        let root = tempfile::tempdir().unwrap();
        let out_dir = root.path().join("run");
        let run = Staging::create(&out_dir).unwrap();
        let staged = run.dir.clone();
        let failed = run.write_with("sends.csv", |out| {
            out.write_all(&pattern(BUFFER_BYTES + 1))?;
            anyhow::bail!("row 3 cannot be formatted")
        });
        let message = format!("{:#}", failed.unwrap_err());
        assert!(message.contains("sends.csv"), "{message}");
        assert!(message.contains("row 3 cannot be formatted"), "{message}");
        drop(run);
        assert!(!staged.exists() && !out_dir.exists());
    }
}
