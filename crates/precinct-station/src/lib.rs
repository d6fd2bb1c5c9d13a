//! The station package: the files a station really has (boundaries from its
//! GIS as GeoJSON or zipped Shapefiles, rosters in Excel or CSV from Chinese
//! office software, a `station.toml`), read into the domain's records
//! (`precinct_domain::station`) with every problem named by file, sheet, row
//! and column, and written back out (the template, an export, the demo's
//! district).
//!
//! Architecture invariant: this crate knows file formats and nothing of
//! storage or HTTP. It reads from bytes in memory ([`PackageFiles`]), so the
//! same code serves a directory, a `.zip` on disk and an upload.

pub mod columns;
pub mod history;
mod read;
pub mod sheet;
#[cfg(test)]
mod tests;
mod write;

pub use read::{PackageRead, read_package, read_package_with_problems, read_package_within};
pub use write::{template, write_package};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// At most this many bytes, unpacked, in one package (a zip bomb is refused).
pub const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;
/// At most this many files in one package.
pub const MAX_PACKAGE_FILES: usize = 2_000;

/// Why a package could not be opened at all (as opposed to the problems
/// found in its content, which are listed together).
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a readable zip archive: {0}")]
    Zip(String),
    #[error(
        "the package is too large (more than {MAX_PACKAGE_BYTES} bytes or {MAX_PACKAGE_FILES} files unpacked)"
    )]
    TooLarge,
    #[error("writing the package: {0}")]
    Write(String),
}

impl PackageError {
    fn io(path: &Path, source: std::io::Error) -> PackageError {
        PackageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// A package's files in memory, by name. Names are the file names inside
/// the package, lowercased; a package wrapped in one top folder (as zipping
/// a folder makes it) is unwrapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl PackageFiles {
    pub fn new() -> PackageFiles {
        PackageFiles::default()
    }

    pub fn insert(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.insert(name.to_lowercase(), bytes);
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(&name.to_lowercase()).map(Vec::as_slice)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The files' sizes added up.
    pub fn unpacked_bytes(&self) -> u64 {
        self.files.values().map(|f| f.len() as u64).sum()
    }

    /// A directory or a `.zip` file.
    pub fn open(path: &Path) -> Result<PackageFiles, PackageError> {
        if path.is_dir() {
            PackageFiles::from_dir(path)
        } else {
            let bytes = std::fs::read(path).map_err(|e| PackageError::io(path, e))?;
            PackageFiles::from_zip(&bytes)
        }
    }

    /// The files directly in a directory (sub-directories are not read).
    pub fn from_dir(dir: &Path) -> Result<PackageFiles, PackageError> {
        let mut files = PackageFiles::new();
        let entries = std::fs::read_dir(dir).map_err(|e| PackageError::io(dir, e))?;
        let mut total = 0u64;
        for entry in entries {
            let entry = entry.map_err(|e| PackageError::io(dir, e))?;
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| PackageError::io(&path, e))?;
            total += bytes.len() as u64;
            if total > MAX_PACKAGE_BYTES || files.files.len() >= MAX_PACKAGE_FILES {
                return Err(PackageError::TooLarge);
            }
            files.insert(&entry.file_name().to_string_lossy(), bytes);
        }
        Ok(files)
    }

    /// The files of a zip archive. Folders inside it are flattened to file
    /// names; sizes are checked as they are unpacked, not as declared.
    pub fn from_zip(bytes: &[u8]) -> Result<PackageFiles, PackageError> {
        PackageFiles::from_zip_within(bytes, MAX_PACKAGE_BYTES)
    }

    /// As [`PackageFiles::from_zip`], with at most `budget` bytes unpacked.
    pub fn from_zip_within(bytes: &[u8], mut budget: u64) -> Result<PackageFiles, PackageError> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| PackageError::Zip(e.to_string()))?;
        if archive.len() > MAX_PACKAGE_FILES {
            return Err(PackageError::TooLarge);
        }
        let mut files = PackageFiles::new();
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| PackageError::Zip(e.to_string()))?;
            if entry.is_dir() {
                continue;
            }
            let full = entry
                .name()
                .map_err(|e| PackageError::Zip(e.to_string()))?
                .into_owned();
            let name = full
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .to_owned();
            // macOS adds these to archives it makes.
            if name.is_empty() || name.starts_with("._") || full.starts_with("__MACOSX") {
                continue;
            }
            let mut content = Vec::new();
            let read = (&mut entry)
                .take(budget + 1)
                .read_to_end(&mut content)
                .map_err(|e| PackageError::Zip(format!("{name}: {e}")))?;
            if read as u64 > budget {
                return Err(PackageError::TooLarge);
            }
            budget -= read as u64;
            files.insert(&name, content);
        }
        Ok(files)
    }

    /// The files as one zip archive.
    pub fn to_zip(&self) -> Result<Vec<u8>, PackageError> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in &self.files {
            writer
                .start_file(name.as_str(), options)
                .map_err(|e| PackageError::Write(e.to_string()))?;
            writer
                .write_all(bytes)
                .map_err(|e| PackageError::Write(e.to_string()))?;
        }
        let cursor = writer
            .finish()
            .map_err(|e| PackageError::Write(e.to_string()))?;
        Ok(cursor.into_inner())
    }

    /// Writes the files into a directory (created if needed).
    pub fn write_dir(&self, dir: &Path) -> Result<(), PackageError> {
        std::fs::create_dir_all(dir).map_err(|e| PackageError::io(dir, e))?;
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| PackageError::io(&path, e))?;
        }
        Ok(())
    }
}
