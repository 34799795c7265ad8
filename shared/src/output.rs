//! Where a tool's results go: a human table, or JSON for scripts.
//!
//! Commands build a report value and hand it to a [`Printer`]; they never decide about
//! terminals themselves. Colour is used only when stdout is a terminal, `NO_COLOR` is
//! unset and `--color` does not say otherwise, so piped output is plain text that
//! `grep`, `awk` and snapshot tests can rely on. `--json` prints one JSON document with
//! stable field names (the report's serde form) and nothing else on stdout.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

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
    /// Decides once, from the flag, the environment and the terminal. `Auto` follows
    /// the conventions anstyle-query reads: `NO_COLOR` turns colour off, `CLICOLOR_FORCE`
    /// turns it on even when piped, `TERM=dumb` and `CLICOLOR=0` turn it off.
    pub fn resolve(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if anstyle_query::no_color() => false,
            ColorChoice::Auto if anstyle_query::clicolor_force() => true,
            ColorChoice::Auto => {
                is_terminal
                    && anstyle_query::clicolor().unwrap_or(true)
                    && anstyle_query::term_supports_color()
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

impl Paint {
    fn style(self) -> anstyle::Style {
        let colored =
            |color: anstyle::AnsiColor| anstyle::Style::new().fg_color(Some(color.into()));
        match self {
            Paint::Green => colored(anstyle::AnsiColor::Green),
            Paint::Red => colored(anstyle::AnsiColor::Red),
            Paint::Yellow => colored(anstyle::AnsiColor::Yellow),
            Paint::Blue => colored(anstyle::AnsiColor::Blue),
            Paint::Dim => anstyle::Style::new().dimmed(),
            Paint::Bold => anstyle::Style::new().bold(),
        }
    }
}

impl Style {
    pub fn paint(&self, paint: Paint, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let style = paint.style();
        format!("{style}{text}{style:#}")
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
    /// The reader of the steps went away; later steps are dropped.
    steps_closed: bool,
}

impl Printer {
    /// The printer for this process's stdout.
    pub fn stdout(args: &OutputArgs) -> Self {
        let stdout = io::stdout();
        let color = args.color.resolve(stdout.is_terminal());
        Printer::to_writer(args.json, color, Box::new(io::BufWriter::new(stdout)))
    }

    /// A printer into any writer; what tests and library callers use.
    pub fn to_writer(json: bool, color: bool, out: Box<dyn Write>) -> Self {
        Printer {
            json,
            style: Style { color },
            out,
            steps_closed: false,
        }
    }

    /// A printer whose lines are progress on stderr (a closed stderr ignored, as
    /// [`stderr_line`] does): for a command run as one step of another, whose stdout
    /// belongs to the caller.
    pub fn progress() -> Self {
        Printer::to_writer(false, false, Box::new(ProgressOnStderr))
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
            serde_json::to_writer_pretty(&mut self.out, report).map_err(json_error)?;
            writeln!(self.out).map_err(io_error)?;
        } else {
            report.render(&mut self.out, self.style).map_err(io_error)?;
        }
        self.flush()
    }

    /// One progress line of a command made of steps, written as the step happens: on
    /// stdout in text mode; nothing in `--json` mode, where one document at the end
    /// says it all.
    ///
    /// A closed stdout does not stop the command: its steps change things (a dispatch
    /// sent, a manifest written and not yet committed), and stopping half-way with exit
    /// 0 would leave the job half done while saying it is fine. The lines are dropped
    /// instead; only the command's end meets the closed pipe.
    pub fn step(&mut self, line: impl std::fmt::Display) -> Result<()> {
        self.step_with(|out| writeln!(out, "{line}").map_err(io_error))
    }

    /// Progress written by `write` (several lines, a log's tail), as [`Printer::step`]
    /// writes one line.
    pub fn step_with(&mut self, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
        if self.json || self.steps_closed {
            return Ok(());
        }
        match write(&mut self.out).and_then(|()| self.flush()) {
            Err(e) if e.kind() == Kind::BrokenPipe => {
                self.steps_closed = true;
                Ok(())
            }
            other => other,
        }
    }

    /// Ends a command made of steps: with `--json`, prints `outcome`, the one document,
    /// whether the command succeeded or not (a script then sees how far it got), and
    /// passes the command's result on.
    pub fn finish<R: Report>(&mut self, outcome: &R, result: Result<()>) -> Result<()> {
        if self.json && !matches!(&result, Err(e) if e.kind() == Kind::BrokenPipe) {
            self.print(outcome)?;
        }
        result
    }

    /// Ends a command whose text output is its result alone (a reference, a URL):
    /// with `--json` as [`Printer::finish`], the document whatever happened; in text,
    /// `outcome` only when the command succeeded.
    pub fn conclude<R: Report>(&mut self, outcome: &R, result: Result<()>) -> Result<()> {
        if self.json {
            return self.finish(outcome, result);
        }
        result?;
        self.print(outcome)
    }

    /// The raw stream, for output that is streamed rather than reported (job logs).
    pub fn raw(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(io_error)
    }
}

/// Maps a write error on stdout: a closed pipe (`| head`) ends the tool quietly; any
/// other write failure (a full disk) fails the run, exit 1. Neither is the user's input
/// being wrong, so neither is a usage error.
pub fn io_error(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Error::new(Kind::BrokenPipe, "broken pipe")
    } else {
        Error::failed(format!("cannot write output: {err}"))
    }
}

/// serde_json wraps the writer's error; a report always serializes, so the only
/// failure left is the write itself, mapped as [`io_error`] maps it.
fn json_error(err: serde_json::Error) -> Error {
    match err.io_error_kind() {
        Some(kind) => io_error(io::Error::from(kind)),
        None => Error::failed(format!("cannot encode JSON output: {err}")),
    }
}

/// Writes one line to stderr and ignores failure: diagnostics (`--debug`, warnings,
/// progress) must never panic or fail a run when stderr is closed, as `eprintln!`
/// would. Every stderr line the suite prints goes through here or [`warn`].
pub fn stderr_line(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// One line on stderr that the user should read but that does not stop the tool.
pub fn warn(message: impl std::fmt::Display) {
    let color = ColorChoice::Auto.resolve(io::stderr().is_terminal());
    let label = Style { color }.paint(Paint::Yellow, "warning:");
    stderr_line(format_args!("{label} {message}"));
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
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.width());
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
                    let pad = widths[i] - cell.text.width() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Stderr for [`Printer::progress`]: writes that fail (a closed stderr) are dropped,
/// so progress never stops the work it reports.
struct ProgressOnStderr;

impl Write for ProgressOnStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
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
    fn wide_characters_are_padded_by_display_width_not_char_count() {
        let mut table = Table::new(["NAME", "X"]);
        table.row(["日本", "a"]);
        table.row(["abcd", "b"]);
        let mut out = Vec::new();
        table.render(&mut out, Style::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME  X\n日本  a\nabcd  b\n"
        );
    }

    /// A writer whose reader has gone away, as stdout is under `| head -0`.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[derive(Serialize)]
    struct Sample {
        name: &'static str,
    }

    impl Report for Sample {
        fn render(&self, out: &mut dyn Write, _: Style) -> io::Result<()> {
            writeln!(out, "{}", self.name)
        }
    }

    #[test]
    fn json_into_a_closed_pipe_is_a_quiet_exit_not_a_usage_error() {
        for json in [true, false] {
            let mut printer = Printer::to_writer(json, false, Box::new(ClosedPipe));
            let err = printer.print(&Sample { name: "x" }).unwrap_err();
            assert_eq!(err.kind(), Kind::BrokenPipe, "json: {json}");
        }
    }

    #[test]
    fn other_output_errors_fail_the_run_with_exit_1() {
        let err = io_error(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn broken_pipe_maps_to_quiet_exit() {
        let err = io_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(err.kind(), Kind::BrokenPipe);
        assert_eq!(err.exit_code(), 0);
    }
}
