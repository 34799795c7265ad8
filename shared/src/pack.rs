//! A reproducible `.tar.gz` of a directory: the same files give the same bytes, so the
//! same sha256, whenever and wherever they are packed.
//!
//! A tarball records more than the files' contents — the order `readdir` returned them
//! in, mtimes, owners, umask-dependent modes — and gzip adds the file name and the time.
//! Each would make two packs of one site differ, and `release-docs publish` decides
//! "already uploaded" by sha256. So [`pack`] writes:
//!
//! - entries sorted by their path's bytes, each directory before what it holds (a
//!   path sorts before any path it is a prefix of), directories included (`name/`);
//! - paths relative to the packed directory, with no prefix and no `./`: the archive's
//!   root is the directory's inside, as the old `tar -czf … -C public .` had it, so the
//!   docs image's start script untars it into the web root unchanged;
//! - regular files, directories and symlinks (kept as links, target as written) only;
//!   anything else (a socket, a fifo, a device) is an error, not a silent gap;
//! - mtime 0, uid and gid 0, empty user and group names; modes 0755 for directories and
//!   for files with any execute bit, 0644 for other files, 0777 for links (the mode of a
//!   link means nothing; 0777 is what every tool shows for one);
//! - GNU tar headers (long paths as GNU long-name entries);
//! - gzip with no file name, no comment, mtime 0, operating system 255 ("unknown") and
//!   level [`GZIP_LEVEL`].
//!
//! The compressed bytes are those of this build's `flate2` backend (zlib-rs): the same
//! files packed by another compressor or version of it could compress differently, so
//! the promise is for one build of the tools. The tar stream itself is fixed by the
//! rules above.
//!
//! The tarball is written to a temporary file beside its target and renamed over it
//! when complete (as [`crate::fsutil::write_atomically`] does, for a stream): a reader,
//! or a failure half-way, never sees half an archive, and no temporary file is left.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use crate::error::{Error, Result};
use crate::forge::packages::Fingerprint;

/// gzip level: 6, zlib's default, which compresses nearly as well as 9 in far less
/// time (bench/docs-pack.sh: 5,000 files, 50 MB, in about 1.4 s).
pub const GZIP_LEVEL: u32 = 6;

/// Packs the directory `dir` into a `.tar.gz` at `out` (see the module docs), replacing
/// `out` only when the archive is complete. Returns the archive's size and sha256.
///
/// Errors (exit 1) name the file: an unreadable file, an entry that is not a file,
/// directory or symlink, a directory `out` cannot be written in.
pub fn pack(dir: &Path, out: &Path) -> Result<Fingerprint> {
    let entries = walk(dir)?;
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let cannot_write = |e: io::Error| {
        Error::failed(format!("cannot write {}: {e}", out.display()))
            .hint("check that its directory exists and is writable")
    };
    let temp = tempfile::Builder::new()
        .prefix(".pack-")
        .suffix(".partial")
        .tempfile_in(parent)
        .map_err(cannot_write)?;
    let file = temp.as_file().try_clone().map_err(cannot_write)?;
    let mut hashed = Hashing {
        inner: BufWriter::new(file),
        sha256: Sha256::new(),
        size: 0,
    };
    let gzip = GzBuilder::new()
        .operating_system(255)
        .mtime(0)
        .write(&mut hashed, Compression::new(GZIP_LEVEL));
    let mut archive = tar::Builder::new(gzip);
    for entry in &entries {
        append(&mut archive, dir, entry)?;
    }
    archive
        .into_inner()
        .and_then(|gzip| gzip.finish())
        .and_then(|hashed| hashed.flush())
        .map_err(cannot_write)?;
    let Hashing { sha256, size, .. } = hashed;
    let fingerprint = Fingerprint {
        size,
        sha256: sha256
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    temp.as_file().sync_all().map_err(cannot_write)?;
    temp.persist(out).map_err(|e| cannot_write(e.error))?;
    Ok(fingerprint)
}

/// What one entry is, as the archive records it.
#[derive(Debug)]
enum EntryKind {
    Dir,
    File { executable: bool, size: u64 },
    Link(PathBuf),
}

#[derive(Debug)]
struct Entry {
    /// Relative to the packed directory, `/`-separated.
    path: Vec<u8>,
    kind: EntryKind,
}

/// Every entry under `dir`, sorted by path bytes.
fn walk(dir: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let full = dir.join(&rel);
        let listing = fs::read_dir(&full).map_err(|e| read_error(&full, "cannot list it", e))?;
        for item in listing {
            let item = item.map_err(|e| read_error(&full, "cannot list it", e))?;
            let rel = rel.join(item.file_name());
            let path = item.path();
            let meta =
                fs::symlink_metadata(&path).map_err(|e| read_error(&path, "cannot read it", e))?;
            let file_type = meta.file_type();
            let kind = if file_type.is_dir() {
                pending.push(rel.clone());
                EntryKind::Dir
            } else if file_type.is_symlink() {
                let target =
                    fs::read_link(&path).map_err(|e| read_error(&path, "cannot read it", e))?;
                EntryKind::Link(target)
            } else if file_type.is_file() {
                EntryKind::File {
                    executable: is_executable(&meta),
                    size: meta.len(),
                }
            } else {
                return Err(Error::failed(format!(
                    "cannot pack {}: not a file, directory or symlink",
                    path.display()
                ))
                .hint("remove it from the directory being packed"));
            };
            entries.push(Entry {
                path: path_bytes(&rel),
                kind,
            });
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn read_error(path: &Path, what: &str, e: io::Error) -> Error {
    Error::failed(format!("cannot pack {}: {what}: {e}", path.display()))
}

#[cfg(unix)]
fn path_bytes(rel: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    rel.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(rel: &Path) -> Vec<u8> {
    rel.to_string_lossy().replace('\\', "/").into_bytes()
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

fn append<W: Write>(archive: &mut tar::Builder<W>, dir: &Path, entry: &Entry) -> Result<()> {
    let rel = entry_path(&entry.path);
    let full = dir.join(&rel);
    // Zero-filled: no user or group names, no device numbers.
    let mut header = Header::new_gnu();
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    let failed = |e: io::Error| read_error(&full, "cannot add it to the archive", e);
    match &entry.kind {
        EntryKind::Dir => {
            header.set_entry_type(EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            // A trailing slash marks a directory for every tar, as GNU tar writes it.
            let mut name = rel.into_os_string();
            name.push("/");
            archive.append_data(&mut header, name, io::empty())
        }
        EntryKind::File { executable, size } => {
            header.set_entry_type(EntryType::Regular);
            header.set_mode(if *executable { 0o755 } else { 0o644 });
            header.set_size(*size);
            let file = fs::File::open(&full).map_err(failed)?;
            // A file that changed size since the walk would make a corrupt entry.
            let reader = io::Read::take(file, *size);
            archive.append_data(&mut header, &rel, reader)
        }
        EntryKind::Link(target) => {
            header.set_entry_type(EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            archive.append_link(&mut header, &rel, target)
        }
    }
    .map_err(failed)
}

#[cfg(unix)]
fn entry_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn entry_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Counts and hashes what goes to the file: the tarball's size and sha256 without
/// reading it back.
struct Hashing<W> {
    inner: W,
    sha256: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A small site: nested directories, an executable, a symlink.
    fn site(root: &Path, order: &[&str]) {
        for name in order {
            match *name {
                "index.html" => fs::write(root.join("index.html"), "<h1>docs</h1>\n").unwrap(),
                "static" => {
                    fs::create_dir_all(root.join("static/js")).unwrap();
                    fs::write(root.join("static/js/app.js"), "run()\n").unwrap();
                    fs::write(root.join("static/style.css"), "body{}\n").unwrap();
                }
                "bin" => {
                    fs::create_dir_all(root.join("bin")).unwrap();
                    fs::write(root.join("bin/run.sh"), "#!/bin/sh\n").unwrap();
                    set_mode(&root.join("bin/run.sh"), 0o700);
                }
                "link" => {
                    std::os::unix::fs::symlink("index.html", root.join("latest.html")).unwrap()
                }
                other => panic!("no part {other}"),
            }
        }
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    const ALL: [&str; 4] = ["index.html", "static", "bin", "link"];

    fn packed(root: &Path) -> (Fingerprint, Vec<u8>) {
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("docs.tar.gz");
        let fingerprint = pack(root, &path).unwrap();
        (fingerprint, fs::read(path).unwrap())
    }

    /// Each entry as `type mode uid/gid user/group mtime path [-> target]`.
    fn listing(bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let h = entry.header();
                let kind = match h.entry_type() {
                    EntryType::Directory => "d",
                    EntryType::Regular => "f",
                    EntryType::Symlink => "l",
                    other => panic!("{other:?}"),
                };
                let link = entry
                    .link_name()
                    .unwrap()
                    .map(|t| format!(" -> {}", t.display()))
                    .unwrap_or_default();
                format!(
                    "{kind} {:o} {}/{} {:?}/{:?} {} {}{link}",
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.username().unwrap().unwrap_or(""),
                    h.groupname().unwrap().unwrap_or(""),
                    h.mtime().unwrap(),
                    String::from_utf8_lossy(&entry.path_bytes()),
                )
            })
            .collect()
    }

    #[test]
    fn the_archive_lists_sorted_normalised_entries_with_the_symlink_kept() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        set_mode(&dir.path().join("static/style.css"), 0o600);
        let (_, bytes) = packed(dir.path());
        insta::assert_snapshot!(listing(&bytes).join("\n"), @r#"
        d 755 0/0 ""/"" 0 bin/
        f 755 0/0 ""/"" 0 bin/run.sh
        f 644 0/0 ""/"" 0 index.html
        l 777 0/0 ""/"" 0 latest.html -> index.html
        d 755 0/0 ""/"" 0 static/
        d 755 0/0 ""/"" 0 static/js/
        f 644 0/0 ""/"" 0 static/js/app.js
        f 644 0/0 ""/"" 0 static/style.css
        "#);
    }

    #[test]
    fn the_gzip_header_has_no_name_and_no_time() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        let (_, bytes) = packed(dir.path());
        // ID1 ID2 CM FLG MTIME(4) XFL OS: no FNAME/FCOMMENT flag, mtime 0, OS unknown.
        assert_eq!(bytes[..4], [0x1f, 0x8b, 8, 0]);
        assert_eq!(bytes[4..8], [0, 0, 0, 0]);
        assert_eq!(bytes[9], 255);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(tar.len() % 512, 0);
    }

    #[test]
    fn the_same_files_give_the_same_sha256_and_the_fingerprint_is_the_files() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        let (first, bytes) = packed(dir.path());
        let (second, _) = packed(dir.path());
        assert_eq!(first, second);
        assert_eq!(first, Fingerprint::of(&bytes));
    }

    #[test]
    fn mtimes_permissions_beyond_the_x_bit_and_creation_order_do_not_change_the_sha256() {
        let a = tempfile::tempdir().unwrap();
        site(a.path(), &ALL);
        let b = tempfile::tempdir().unwrap();
        site(b.path(), &["link", "bin", "static", "index.html"]);
        let old = filetime_epoch();
        for file in ["index.html", "static/js/app.js", "static", "bin/run.sh"] {
            let f = fs::File::options()
                .write(true)
                .open(b.path().join(file))
                .or_else(|_| fs::File::open(b.path().join(file)))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        set_mode(&b.path().join("bin/run.sh"), 0o775);
        set_mode(&b.path().join("index.html"), 0o640);
        set_mode(&b.path().join("static"), 0o700);
        assert_eq!(packed(a.path()).0, packed(b.path()).0);
    }

    fn filetime_epoch() -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400)
    }

    #[test]
    fn a_different_owner_does_not_change_the_sha256() {
        let a = tempfile::tempdir().unwrap();
        site(a.path(), &ALL);
        let b = tempfile::tempdir().unwrap();
        site(b.path(), &ALL);
        let (expected, bytes) = packed(a.path());
        assert!(listing(&bytes).iter().all(|l| l.contains(" 0/0 ")));
        // Giving files away needs root (CI containers and this machine run tests as
        // root); elsewhere the headers' 0/0 above is what the owner comes to.
        let chown =
            |rel: &str| std::os::unix::fs::lchown(b.path().join(rel), Some(1234), Some(5678));
        match chown("index.html") {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return,
            other => other.unwrap(),
        }
        for rel in ["static", "static/js/app.js", "latest.html", "bin/run.sh"] {
            chown(rel).unwrap();
        }
        assert_eq!(packed(b.path()).0, expected);
    }

    #[test]
    fn changed_content_a_new_file_or_an_execute_bit_change_the_sha256() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        let (base, _) = packed(dir.path());
        fs::write(dir.path().join("index.html"), "<h1>docs!</h1>\n").unwrap();
        let (content, _) = packed(dir.path());
        assert_ne!(base, content);
        fs::write(dir.path().join("new.html"), "").unwrap();
        let (added, _) = packed(dir.path());
        assert_ne!(content, added);
        set_mode(&dir.path().join("new.html"), 0o755);
        assert_ne!(added, packed(dir.path()).0);
    }

    #[test]
    fn long_paths_survive_as_gnu_long_names() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a".repeat(60)).join("b".repeat(60));
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("page.html"), "x").unwrap();
        let (_, bytes) = packed(dir.path());
        let names = listing(&bytes);
        let last = names.last().unwrap();
        assert!(
            last.ends_with(&format!("{}/{}/page.html", "a".repeat(60), "b".repeat(60))),
            "{last}"
        );
    }

    #[test]
    fn the_target_is_replaced_whole_and_a_failure_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("docs.tar.gz");
        fs::write(&path, "old").unwrap();
        let fingerprint = pack(dir.path(), &path).unwrap();
        assert_eq!(Fingerprint::of(&fs::read(&path).unwrap()), fingerprint);

        // A fifo cannot be packed: the old tarball stays, nothing else is left.
        fs::write(&path, "old").unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status()
            .unwrap();
        assert!(status.success());
        let error = pack(dir.path(), &path).unwrap_err();
        assert_eq!(error.exit_code(), 1);
        assert!(
            error.message().contains("not a file, directory or symlink"),
            "{}",
            error.message()
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_output_directory_is_an_error_naming_the_tarball() {
        let dir = tempfile::tempdir().unwrap();
        site(dir.path(), &ALL);
        let out = dir.path().join("no/such/dir/docs.tar.gz");
        let error = pack(dir.path(), &out).unwrap_err();
        assert!(
            error.message().contains("docs.tar.gz"),
            "{}",
            error.message()
        );
    }
}
