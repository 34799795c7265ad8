//! The human form of the listing and of the pin check; `--json` is their serde form.

use std::io::{self, Write};

use super::{ImageEntry, ListReport, PinReport, PinStatus, Status};
use crate::ancestry::Marker;
use crate::output::{Cell, Paint, Report, Style, Table};

fn marker_paint(marker: Marker) -> Paint {
    match marker {
        Marker::Main => Paint::Green,
        Marker::Branch => Paint::Yellow,
        Marker::Unknown => Paint::Dim,
    }
}

impl Report for ListReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        if self.registry_only && self.images.is_empty() {
            writeln!(
                out,
                "Every repository in the registry under the prefix has a containers/ directory."
            )?;
        }
        for image in &self.images {
            render_image(out, style, image, self.registry_only)?;
        }
        let main = self.main_ref.as_deref().unwrap_or("main");
        writeln!(out, "Markers:")?;
        writeln!(
            out,
            "  [main]     the commit is on {main}: fit to pin in production manifests"
        )?;
        writeln!(
            out,
            "  [branch]   the commit is not on {main} (a branch, or a squash-merged PR): rebuild from {main} before pinning"
        )?;
        writeln!(
            out,
            "  [unknown]  the commit is not in this clone (git fetch?), or there is no {main} to compare with"
        )
    }
}

fn render_image(
    out: &mut dyn Write,
    style: Style,
    image: &ImageEntry,
    registry_only: bool,
) -> io::Result<()> {
    let kinds = if registry_only {
        "registry only".to_owned()
    } else if image.kinds.is_empty() {
        "no build file".to_owned()
    } else {
        image.kinds.join("+")
    };
    writeln!(out, "[{kinds}] {}", style.paint(Paint::Bold, &image.name))?;
    writeln!(out, "   Image: {}", image.image)?;
    if let Some(path) = &image.path {
        writeln!(out, "   Path:  {path}")?;
    }
    match image.status {
        Status::Error => writeln!(
            out,
            "   Recent tags: {} {}",
            style.paint(Paint::Red, "error:"),
            image.error.as_deref().unwrap_or_default()
        )?,
        Status::NotInRegistry => writeln!(
            out,
            "   Recent tags: (none: nothing pushed to the registry yet)"
        )?,
        Status::Ok if image.tags.is_empty() => {
            let why = if image.hidden > 0 {
                format!(
                    "(none shown: {} tags outside v<version>-<sha7> or filtered; --include RE shows only the tags RE matches)",
                    image.hidden
                )
            } else {
                "(none: the repository has no tags)".to_owned()
            };
            writeln!(out, "   Recent tags: {why}")?
        }
        Status::Ok => {
            writeln!(out, "   Recent tags:")?;
            for tag in &image.tags {
                writeln!(
                    out,
                    "     - {} {}",
                    tag.tag,
                    style.paint(marker_paint(tag.marker), &tag.marker.label())
                )?;
            }
            if image.more > 0 {
                writeln!(
                    out,
                    "     ({} older; --limit N or --all to show them)",
                    image.more
                )?;
            }
        }
    }
    writeln!(out)
}

impl Report for PinReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        if self.pins.is_empty() {
            return writeln!(out, "No pins of {} images under argocd/.", self.registry);
        }
        let mut table = Table::new(["FILE", "PIN", "REGISTRY", "COMMIT"]);
        for entry in &self.pins {
            let status = match entry.status {
                PinStatus::Present => Cell::painted("present", Paint::Green),
                PinStatus::Missing => Cell::painted("MISSING", Paint::Red),
                PinStatus::Error => Cell::painted(
                    format!("error: {}", entry.error.as_deref().unwrap_or_default()),
                    Paint::Red,
                ),
            };
            let marker = match entry.marker {
                Some(marker) => Cell::painted(marker.label(), marker_paint(marker)),
                None => Cell::from("-"),
            };
            table.row([
                Cell::from(format!("{}:{}", entry.pin.file, entry.pin.line)),
                Cell::from(entry.pin.display()),
                status,
                marker,
            ]);
        }
        table.render(out, style)?;
        let off_main = self
            .pins
            .iter()
            .filter(|p| p.marker == Some(Marker::Branch))
            .count();
        let main = self.main_ref.as_deref().unwrap_or("main");
        writeln!(out)?;
        writeln!(
            out,
            "{} present, {} missing, {} unverified; {off_main} built from a commit not on {main}.",
            self.count(PinStatus::Present),
            self.count(PinStatus::Missing),
            self.count(PinStatus::Error)
        )
    }
}
