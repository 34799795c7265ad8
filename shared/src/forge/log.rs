//! Copying a job log from the network to stdout in constant memory.
//!
//! Logs can be hundreds of megabytes, so they are never collected: each chunk is
//! written (and flushed, so `less` and `--follow` see lines as they arrive) before the
//! next is read. When colour is off, ANSI escape sequences are removed on the way by a
//! small state machine that keeps its state across chunks and across `--follow` polls,
//! since an escape sequence may be split anywhere.

use std::io::Write;

use reqwest::Response;

use crate::error::{Error, Result};
use crate::output::io_error;

/// Where log bytes go: the writer, optionally through the escape-sequence stripper.
pub struct LogSink<'a> {
    out: &'a mut dyn Write,
    stripper: Option<AnsiStripper>,
    scratch: Vec<u8>,
}

impl<'a> LogSink<'a> {
    pub fn new(out: &'a mut dyn Write, keep_colour: bool) -> Self {
        LogSink {
            out,
            stripper: (!keep_colour).then(AnsiStripper::default),
            scratch: Vec::new(),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.stripper {
            Some(stripper) => {
                self.scratch.clear();
                stripper.strip(bytes, &mut self.scratch);
                self.out.write_all(&self.scratch).map_err(io_error)?;
            }
            None => self.out.write_all(bytes).map_err(io_error)?,
        }
        self.out.flush().map_err(io_error)
    }

    /// Writes a line of our own (a header between logs), never stripped.
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").map_err(io_error)?;
        self.out.flush().map_err(io_error)
    }
}

/// Streams a response body into `sink`, dropping its first `skip` bytes (a server that
/// ignored `Range` resends what was already printed). Returns the bytes consumed after
/// the skipped part.
pub async fn copy(response: &mut Response, mut skip: u64, sink: &mut LogSink<'_>) -> Result<u64> {
    let mut copied = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::remote(format!("the log download was cut off: {e}"))
            .hint("run the command again; add --follow if the job is still running")
    })? {
        let mut bytes = &chunk[..];
        if skip > 0 {
            let dropped = skip.min(bytes.len() as u64);
            skip -= dropped;
            bytes = &bytes[dropped as usize..];
        }
        if !bytes.is_empty() {
            sink.write(bytes)?;
            copied += bytes.len() as u64;
        }
    }
    Ok(copied)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    Text,
    /// After ESC.
    Start,
    /// Inside `ESC [ … final`.
    Csi,
    /// Inside `ESC ] … BEL` or `ESC ] … ESC \`.
    Osc,
    OscEsc,
}

/// Removes CSI (colours, cursor moves) and OSC (titles, links) sequences.
#[derive(Debug, Default)]
pub struct AnsiStripper {
    state: Escape,
}

impl AnsiStripper {
    pub fn strip(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        for &byte in input {
            self.state = match (self.state, byte) {
                (Escape::Text, 0x1b) => Escape::Start,
                (Escape::Text, _) => {
                    out.push(byte);
                    Escape::Text
                }
                (Escape::Start, b'[') => Escape::Csi,
                (Escape::Start, b']') => Escape::Osc,
                (Escape::Start, _) => Escape::Text,
                (Escape::Csi, 0x40..=0x7e) => Escape::Text,
                (Escape::Csi, _) => Escape::Csi,
                (Escape::Osc, 0x07) => Escape::Text,
                (Escape::Osc, 0x1b) => Escape::OscEsc,
                (Escape::Osc, _) => Escape::Osc,
                (Escape::OscEsc, b'\\') => Escape::Text,
                (Escape::OscEsc, _) => Escape::Osc,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_in_pieces(pieces: &[&[u8]]) -> String {
        let mut stripper = AnsiStripper::default();
        let mut out = Vec::new();
        for piece in pieces {
            stripper.strip(piece, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colour_codes_are_removed_even_when_split_across_chunks() {
        assert_eq!(strip_in_pieces(&[b"\x1b[31mred\x1b[0m ok"]), "red ok");
        assert_eq!(
            strip_in_pieces(&[b"a\x1b", b"[1;3", b"2mb\x1b]0;title\x07c"]),
            "abc"
        );
        assert_eq!(strip_in_pieces(&[b"x\x1b]8;;u\x1b\\y"]), "xy");
    }

    #[test]
    fn sink_keeps_colour_when_asked() {
        let mut out = Vec::new();
        LogSink::new(&mut out, true)
            .write(b"\x1b[32mok\x1b[0m")
            .unwrap();
        assert_eq!(out, b"\x1b[32mok\x1b[0m");
    }
}
