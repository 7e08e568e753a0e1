//! Reading and writing files so that a bad path fails at once and a failed write leaves nothing behind.
//!
//! Every input document (profile, manifest, record, test set) is read through [`read_regular`]: a named pipe, a
//! socket or a device given where a file belongs would otherwise block forever or stream without end. Every
//! output goes through [`write_atomic`] or [`write_all_or_nothing`], which undo the folders they created when a
//! write fails (a full disk, say), so a failed command leaves the place it wrote to as it was.
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Most bytes a profile file may hold: a profile is a few hundred bytes of TOML, and a list of the most seeds
/// a run accepts a few kB; room is left so that an over-long list is refused by its field, not its size.
pub const MAX_PROFILE_BYTES: u64 = 16 << 20;
/// Most bytes a dataset manifest may hold: tens of entries of a few hundred bytes each.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Most bytes a run record may hold: the largest records (with a picture and learning curves) are under 1 MB.
pub const MAX_RECORD_BYTES: u64 = 256 << 20;
/// Most bytes one test set may hold: the bound on instances per cell times the largest instances, with room.
pub const MAX_SET_BYTES: u64 = 4 << 30;

/// Checks that `path` exists and is a folder, with an error that names it.
pub fn require_dir(path: &Path, what: &'static str) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Invalid { path: path.into(), reason: format!("{what} is not a folder") }),
        Err(e) => Err(Error::io(what, path, e)),
    }
}

/// What a path is, in words, when it is not a regular file.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// Reads `path` whole, refusing anything but a regular file of at most `max_bytes` bytes before reading a byte
/// (a named pipe would block, a device would stream without end). `action` says what is read (`reading
/// record`), `what` names the file to the user (`record`).
pub fn read_regular(path: &Path, action: &'static str, what: &str, max_bytes: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(action, path, e))?;
    let not_regular =
        |m: &std::fs::Metadata| Error::Invalid { path: path.into(), reason: format!("the {what} is {}", kind_of(m)) };
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > max_bytes {
        return Err(Error::Invalid {
            path: path.into(),
            reason: format!("the {what} holds {} bytes, more than the {max_bytes} a {what} may", meta.len()),
        });
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(action, path, e))?;
    // The path may have been replaced between the two looks: check what was opened.
    let opened = file.metadata().map_err(|e| Error::io(action, path, e))?;
    if !opened.is_file() {
        return Err(not_regular(&opened));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|e| Error::io(action, path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::Invalid {
            path: path.into(),
            reason: format!("the {what} grew past the {max_bytes} bytes a {what} may hold while it was read"),
        });
    }
    Ok(bytes)
}

/// As [`read_regular`], as UTF-8 text.
pub fn read_regular_text(path: &Path, action: &'static str, what: &str, max_bytes: u64) -> Result<String> {
    String::from_utf8(read_regular(path, action, what, max_bytes)?)
        .map_err(|_| Error::Invalid { path: path.into(), reason: format!("the {what} is not UTF-8 text") })
}

/// Creates `dir` and any missing folders above it; returns the folders it created, innermost first, for
/// [`remove_created`] to undo.
pub fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.as_os_str().is_empty() && std::fs::symlink_metadata(cur).is_err() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        remove_created(&missing);
        return Err(Error::io("creating folder", dir, e));
    }
    Ok(missing)
}

/// Removes the folders [`create_dirs`] created, innermost first, as far as they are still empty (another
/// writer may have put a file in one since).
pub fn remove_created(created: &[PathBuf]) {
    for d in created {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
    }
}

/// A name for a temporary file or folder beside `name`, unique per process and per call.
fn temp_name(name: &str) -> String {
    // Unique per write, not just per process: two jobs of one run writing the same path at once must not share a
    // temporary file (one would rename the other's away).
    static WRITES: AtomicU64 = AtomicU64::new(0);
    format!(".{name}.tmp-{}-{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a reader never
/// sees a half-written file, even if the process dies mid-write. A failed write removes its temporary file and
/// the folders it created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let created = create_dirs(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(temp_name(&name));
    if let Err(e) = write_synced(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        remove_created(&created);
        return Err(Error::io("writing", path, e));
    }
    Ok(())
}

/// Writes every `(relative path, contents)` of `files` under `out`, all or nothing: everything is first written
/// into a temporary folder inside `out` (the same filesystem), and only once every byte is on disk renamed into
/// place. A failure before that (a full disk) removes the temporary folder and every folder it created, leaving
/// `out` as it was.
pub fn write_all_or_nothing(out: &Path, files: &[(String, String)]) -> Result<()> {
    let mut created = create_dirs(out)?;
    let tmp = out.join(temp_name("write"));
    let staged = (|| -> Result<()> {
        std::fs::create_dir(&tmp).map_err(|e| Error::io("creating folder", &tmp, e))?;
        for (name, text) in files {
            let path = tmp.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("creating folder", parent, e))?;
            }
            write_synced(&path, text.as_bytes()).map_err(|e| Error::io("writing", out.join(name), e))?;
        }
        // The folders the files go into, made before any file moves so that the renames need no new space.
        for (name, _) in files {
            if let Some(parent) = out.join(name).parent() {
                let mut made = create_dirs(parent)?;
                made.append(&mut created);
                created = made;
            }
        }
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&tmp);
        remove_created(&created);
        return Err(e);
    }
    for (name, _) in files {
        let to = out.join(name);
        std::fs::rename(tmp.join(name), &to).map_err(|e| Error::io("writing", &to, e))?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(dir.path(), "reading record", "record", 10).unwrap_err().to_string();
        assert!(e.contains("the record is a folder"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, "0123456789AB").unwrap();
        let e = read_regular(&big, "reading record", "record", 10).unwrap_err().to_string();
        assert!(e.contains("12 bytes"), "{e}");
        assert_eq!(read_regular(&big, "reading record", "record", 12).unwrap().len(), 12);
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p.toml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available here");
            return;
        }
        let e = read_regular(&fifo, "reading profile file", "profile file", 10).unwrap_err().to_string();
        assert!(e.contains("named pipe"), "{e}");
    }

    #[test]
    fn a_failed_write_removes_the_folders_it_made() {
        let dir = tempfile::tempdir().unwrap();
        // A file name too long for any filesystem: the write fails after its folders were made.
        let long = dir.path().join("made/for/it").join("x".repeat(300));
        assert!(write_atomic(&long, b"{}").is_err());
        assert!(!dir.path().join("made").exists(), "a failed write left its folders behind");
        let files = [("plots/x.svg".to_string(), "<svg/>".to_string()), ("r.json/sub".to_string(), "x".to_string())];
        let out = dir.path().join("new/report");
        std::fs::create_dir_all(dir.path().join("new")).unwrap();
        std::fs::write(dir.path().join("new/report"), "a file").unwrap();
        assert!(write_all_or_nothing(&out, &files).is_err());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a file");
        let fresh = dir.path().join("fresh/report");
        let clash = [("a.md".to_string(), "x".to_string()), ("a.md/b.md".to_string(), "y".to_string())];
        assert!(write_all_or_nothing(&fresh, &clash).is_err());
        assert!(!dir.path().join("fresh").exists(), "the folders made for a failed report stay behind");
        write_all_or_nothing(&fresh, &files[..1]).unwrap();
        assert_eq!(std::fs::read_to_string(fresh.join("plots/x.svg")).unwrap(), "<svg/>");
        let names: Vec<_> = std::fs::read_dir(&fresh).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("plots")]);
    }
}
