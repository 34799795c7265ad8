//! Writing files so that a reader, or a crash, never sees half of one.
//!
//! [`write_atomically`] writes the new bytes to a temporary file in the same directory
//! (a rename is only atomic within one file system), flushes it to disk, gives it the
//! original file's permission bits, and renames it over the original. Until the rename
//! the original is untouched; on any error the temporary file is removed, so a failed
//! pin edit leaves neither a half-written manifest nor a stray file.
//!
//! A symbolic link is followed: its target is replaced and the link kept. The owner of
//! the original is not copied (that needs privileges); the new file belongs to whoever
//! runs the tool, as with any editor that saves by rename.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses a directory where a flag names a file to write (`--out site/`), before any
/// work: found only when the file is written, it would fail the run at its very end.
/// The hint suggests `file_name` in that directory.
pub fn refuse_directory(flag: &str, path: &Path, file_name: &str) -> Result<()> {
    if path.as_os_str().to_string_lossy().ends_with('/') || path.is_dir() {
        return Err(
            Error::usage(format!("bad {flag} {}: it is a directory", path.display())).hint(
                format!(
                    "name the file to write, such as {flag} {}",
                    path.join(file_name).display()
                ),
            ),
        );
    }
    Ok(())
}

/// Replaces the contents of `path` with `bytes` in one step (see the module docs). The
/// file need not exist yet. Errors name the file and are exit 1.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, bytes, |_| Ok(()))
}

/// [`write_atomically`] with a hook run on the finished temporary file just before the
/// rename, so tests can make that last step fail.
fn write_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<()> {
    let fail = |what: &str, e: io::Error| {
        Error::failed(format!("cannot write {}: {what}: {e}", path.display()))
    };
    let target = resolve_symlink(path).map_err(|e| fail("cannot follow the link", e))?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| Error::usage(format!("{} names no file", path.display())))?
        .to_string_lossy()
        .into_owned();
    let permissions = match fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail("cannot read its permissions", e)),
    };
    let (file, temp) =
        create_temp(&dir, &name).map_err(|e| fail("cannot create a temporary file", e))?;
    let guard = TempGuard(Some(temp));
    let temp = guard.path();
    fill(file, bytes, permissions).map_err(|e| fail("writing the temporary file", e))?;
    before_rename(temp).map_err(|e| fail("before the rename", e))?;
    fs::rename(temp, &target).map_err(|e| fail("cannot rename the temporary file over it", e))?;
    guard.disarm();
    // The rename is durable once the directory entry is; not every platform can sync a
    // directory, and the data itself is already on disk, so a failure here is ignored.
    if let Ok(dir) = File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn resolve_symlink(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// A new file `.NAME.tmp-PID-RANDOM` in `dir`, created exclusively.
fn create_temp(dir: &Path, name: &str) -> io::Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..16 {
        let suffix: u32 = rand::random();
        let temp = dir.join(format!(".{name}.tmp-{}-{suffix:08x}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

fn fill(mut file: File, bytes: &[u8], permissions: Option<fs::Permissions>) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}

/// Removes the temporary file unless the rename took it.
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_contents_and_leaves_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kustomization.yaml");
        fs::write(&path, "old\n").unwrap();
        write_atomically(&path, b"new\r\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\r\n");
        assert_eq!(names(dir.path()), ["kustomization.yaml"]);
    }

    #[test]
    fn creates_a_file_that_does_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.yaml");
        write_atomically(&path, b"x").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_original_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o750)).unwrap();
        write_atomically(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o750);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_keeps_pointing_at_the_replaced_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_failure_before_the_rename_keeps_the_original_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.yaml");
        fs::write(&path, "original\n").unwrap();
        let mut seen = None;
        let err = write_with(&path, b"half", |temp| {
            seen = Some(temp.to_path_buf());
            assert_eq!(fs::read(temp).unwrap(), b"half");
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.message().contains("deployment.yaml"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("disk full"), "{}", err.message());
        assert!(!seen.unwrap().exists());
        assert_eq!(fs::read(&path).unwrap(), b"original\n");
        assert_eq!(names(dir.path()), ["deployment.yaml"]);
    }

    #[test]
    fn a_failed_rename_keeps_the_original_and_removes_the_temp_file() {
        // Renaming a file over a non-empty directory fails on every platform.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifests");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside.yaml"), "kept").unwrap();
        let err = write_atomically(&path, b"new").unwrap_err();
        assert!(err.message().contains("rename"), "{}", err.message());
        assert_eq!(names(dir.path()), ["manifests"]);
        assert_eq!(fs::read(path.join("inside.yaml")).unwrap(), b"kept");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir/file.yaml");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert!(err.message().contains("file.yaml"), "{}", err.message());
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }
}
