//! Job log bytes to the user's terminal or pipe, in constant memory.
//!
//! Logs can be hundreds of megabytes, so they are never collected: the forge client
//! hands each chunk to a [`LogWrite`] this command supplies, which writes it (and
//! flushes, so `less` and `--follow` see lines as they arrive) before the next is
//! read. This lives with the command, not the client, because only commands write to
//! stdout.
//!
//! When colour is off, ANSI escape sequences are removed on the way. The stripper jumps
//! from one ESC to the next with `memchr` and copies the text between in one piece, so
//! a log without colour costs a memory scan; only the few bytes inside a sequence go
//! through the state machine. Its state is kept across chunks and `--follow` polls,
//! since a sequence may be split anywhere.

use std::io::Write;

use crate::error::Result;
use crate::forge::LogWrite;
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

    /// Writes a line of our own (a header between logs), never stripped.
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").map_err(io_error)?;
        self.out.flush().map_err(io_error)
    }
}

impl LogWrite for LogSink<'_> {
    fn write_log(&mut self, bytes: &[u8]) -> Result<()> {
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
}

const ESC: u8 = 0x1b;

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
    pub fn strip(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        while let Some((&byte, rest)) = input.split_first() {
            if self.state == Escape::Text {
                // The fast path: everything up to the next ESC is text.
                match memchr::memchr(ESC, input) {
                    Some(at) => {
                        out.extend_from_slice(&input[..at]);
                        input = &input[at + 1..];
                        self.state = Escape::Start;
                    }
                    None => {
                        out.extend_from_slice(input);
                        return;
                    }
                }
                continue;
            }
            input = rest;
            self.state = match (self.state, byte) {
                (Escape::Text, _) => unreachable!("text is handled above"),
                (Escape::Start, b'[') => Escape::Csi,
                (Escape::Start, b']') => Escape::Osc,
                (Escape::Start, _) => Escape::Text,
                (Escape::Csi, 0x40..=0x7e) => Escape::Text,
                (Escape::Csi, _) => Escape::Csi,
                (Escape::Osc, 0x07) => Escape::Text,
                (Escape::Osc, ESC) => Escape::OscEsc,
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
        assert_eq!(
            strip_in_pieces(&[b"plain\n", b"", b"text\n"]),
            "plain\ntext\n"
        );
        assert_eq!(strip_in_pieces(&[b"\x1b", b"[", b"0", b"m", b"end"]), "end");
    }

    #[test]
    fn every_split_of_a_coloured_log_strips_the_same() {
        let log: &[u8] =
            b"2025 \x1b[32m[build]\x1b[0m ok \x1b]8;;http://x\x1b\\link\x1b]8;;\x07 done\n";
        let whole = strip_in_pieces(&[log]);
        assert_eq!(whole, "2025 [build] ok link done\n");
        for cut in 0..=log.len() {
            let (a, b) = log.split_at(cut);
            assert_eq!(strip_in_pieces(&[a, b]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn sink_keeps_colour_when_asked() {
        let mut out = Vec::new();
        LogSink::new(&mut out, true)
            .write_log(b"\x1b[32mok\x1b[0m")
            .unwrap();
        assert_eq!(out, b"\x1b[32mok\x1b[0m");
    }
}
