//! Reading zone files within limits, so a zone cannot take the server down:
//! only regular files (a FIFO would block the load forever), a bounded
//! number of files and of bytes in all (an include fan-out would grow
//! memory without end), a bounded `$INCLUDE` depth and `$GENERATE` output.

use std::{
    fs::{self, File, Metadata, OpenOptions},
    io::Read,
    os::unix::fs::{FileTypeExt, OpenOptionsExt},
    path::Path,
};

use super::error::ReadProblem;

/// Bounds on what one zone may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `$INCLUDE` nesting below the zone file.
    pub max_include_depth: usize,
    /// Files read in all, the zone file included.
    pub max_files: usize,
    /// Bytes read in all, over every file.
    pub max_bytes: u64,
    /// Records that `$GENERATE` may make in all.
    pub max_generated: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_include_depth: 16,
            max_files: 256,
            max_bytes: 64 << 20,
            max_generated: 1_000_000,
        }
    }
}

/// What a zone has used of its limits so far.
#[derive(Debug)]
pub(crate) struct Budget {
    pub(crate) limits: Limits,
    files: usize,
    bytes: u64,
    pub(crate) generated: usize,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            files: 0,
            bytes: 0,
            generated: 0,
        }
    }

    /// Counts text that did not come from a file read here (a zone given as text).
    pub(crate) fn count_text(&mut self, len: usize) -> Result<(), ReadProblem> {
        self.files += 1;
        self.take_bytes(len as u64)
    }

    fn take_bytes(&mut self, len: u64) -> Result<(), ReadProblem> {
        self.bytes += len;
        match self.bytes > self.limits.max_bytes {
            true => Err(ReadProblem::TooLarge {
                max: self.limits.max_bytes,
            }),
            false => Ok(()),
        }
    }

    /// Reads a whole regular file within the limits.
    pub(crate) fn read(&mut self, path: &Path) -> Result<Vec<u8>, ReadProblem> {
        if self.files >= self.limits.max_files {
            return Err(ReadProblem::TooManyFiles {
                max: self.limits.max_files,
            });
        }
        // Refuse what is not a regular file before opening it: opening a FIFO
        // for reading blocks until a writer comes.
        regular(&fs::metadata(path)?)?;
        // O_NONBLOCK: should the path be swapped for a FIFO between the check
        // and the open, the open still returns, and the check below refuses it.
        let file: File = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let metadata = file.metadata()?;
        regular(&metadata)?;
        self.files += 1;
        let room = self.limits.max_bytes.saturating_sub(self.bytes);
        if metadata.len() > room {
            return Err(ReadProblem::TooLarge {
                max: self.limits.max_bytes,
            });
        }
        let mut text = Vec::with_capacity(metadata.len() as usize);
        // The file may grow while we read: never take more than the room left.
        file.take(room + 1).read_to_end(&mut text)?;
        self.take_bytes(text.len() as u64)?;
        Ok(text)
    }
}

fn regular(metadata: &Metadata) -> Result<(), ReadProblem> {
    let kind = metadata.file_type();
    let kind = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "named pipe"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else {
        "special file"
    };
    Err(ReadProblem::NotRegular { kind })
}
