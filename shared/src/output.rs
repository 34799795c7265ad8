//! Where a tool's results go: a human table, or JSON for scripts.
//!
//! Commands build a report value and hand it to a [`Printer`]; they never decide about
//! terminals themselves. Colour is used only when stdout is a terminal, `NO_COLOR` is
//! unset and `--color` does not say otherwise, so piped output is plain text that
//! `grep`, `awk` and snapshot tests can rely on. `--json` prints one JSON document with
//! stable field names (the report's serde form) and nothing else on stdout.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::error::{Error, Kind, Result};

/// `--color` values, as ripgrep and git spell them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Decides once, from the flag, the environment and the terminal.
    pub fn resolve(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// The output flags every tool takes.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// Print one JSON document on stdout instead of the human table.
    #[arg(long, global = true)]
    pub json: bool,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t, value_name = "WHEN", global = true)]
    pub color: ColorChoice,
}

/// Colours used by the reports; a no-op when colour is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Green,
    Red,
    Yellow,
    Blue,
    Dim,
    Bold,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, paint: Paint, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match paint {
            Paint::Green => "32",
            Paint::Red => "31",
            Paint::Yellow => "33",
            Paint::Blue => "34",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// A result a command prints: JSON comes from `Serialize`, the human form from `render`.
pub trait Report: Serialize {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()>;
}

/// Stdout, buffered, with the format and colour decided once for the run.
pub struct Printer {
    json: bool,
    style: Style,
    out: Box<dyn Write>,
}

impl Printer {
    /// The printer for this process's stdout.
    pub fn stdout(args: &OutputArgs) -> Self {
        let stdout = io::stdout();
        let color = args.color.resolve(stdout.is_terminal());
        Printer {
            json: args.json,
            style: Style { color },
            out: Box::new(io::BufWriter::new(stdout)),
        }
    }

    /// A printer into any writer; what tests and library callers use.
    pub fn to_writer(json: bool, color: bool, out: Box<dyn Write>) -> Self {
        Printer {
            json,
            style: Style { color },
            out,
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// Prints a report in the chosen format and flushes it.
    pub fn print<R: Report>(&mut self, report: &R) -> Result<()> {
        if self.json {
            serde_json::to_writer_pretty(&mut self.out, report)
                .map_err(|e| Error::usage(format!("cannot encode JSON output: {e}")))?;
            writeln!(self.out).map_err(io_error)?;
        } else {
            report.render(&mut self.out, self.style).map_err(io_error)?;
        }
        self.flush()
    }

    /// The raw stream, for output that is streamed rather than reported (job logs).
    pub fn raw(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(io_error)
    }
}

/// Maps a write error on stdout: a closed pipe (`| head`) ends the tool quietly.
pub fn io_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Error::new(Kind::BrokenPipe, "broken pipe")
    } else {
        Error::usage(format!("cannot write output: {err}"))
    }
}

/// One line on stderr that the user should read but that does not stop the tool.
pub fn warn(message: impl std::fmt::Display) {
    let color = ColorChoice::Auto.resolve(io::stderr().is_terminal());
    let label = Style { color }.paint(Paint::Yellow, "warning:");
    let _ = writeln!(io::stderr(), "{label} {message}");
}

/// A left-aligned text table; the last column is never padded.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// A table cell: its text, and how to colour it on a terminal.
#[derive(Clone, Debug)]
pub struct Cell {
    text: String,
    paint: Option<Paint>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, paint: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_owned())
    }
}

impl Cell {
    pub fn painted(text: impl Into<String>, paint: Paint) -> Self {
        Cell {
            text: text.into(),
            paint: Some(paint),
        }
    }
}

impl Table {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<I: IntoIterator<Item = C>, C: Into<Cell>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let header: Vec<Cell> = self
            .header
            .iter()
            .map(|h| Cell::painted(h.clone(), Paint::Bold))
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                let last = i + 1 == columns;
                let text = match cell.paint {
                    Some(paint) => style.paint(paint, &cell.text),
                    None => cell.text.clone(),
                };
                line.push_str(&text);
                if !last {
                    let pad = widths[i] - cell.text.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_leaves_last_column_unpadded() {
        let mut table = Table::new(["NAME", "VERSION", "STATUS"]);
        table.row(["navidrome", "0.61.1", "ok"]);
        table.row(["kiwix", "3.8.2", "mismatch"]);
        let mut out = Vec::new();
        table.render(&mut out, Style::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME       VERSION  STATUS\nnavidrome  0.61.1   ok\nkiwix      3.8.2    mismatch\n"
        );
    }

    #[test]
    fn colour_is_off_when_not_a_terminal_or_asked_never() {
        assert!(!ColorChoice::Auto.resolve(false));
        assert!(!ColorChoice::Never.resolve(true));
        assert!(ColorChoice::Always.resolve(false));
    }

    #[test]
    fn painted_cells_keep_alignment_by_visible_width() {
        let mut table = Table::new(["A", "B"]);
        table.row([Cell::painted("x", Paint::Red), Cell::from("y")]);
        let mut out = Vec::new();
        table.render(&mut out, Style { color: true }).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\x1b[31mx\x1b[0m  y"), "{text:?}");
    }

    #[test]
    fn broken_pipe_maps_to_quiet_exit() {
        let err = io_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(err.kind(), Kind::BrokenPipe);
        assert_eq!(err.exit_code(), 0);
    }
}
