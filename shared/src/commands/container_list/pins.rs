//! `--check-pins`: does every image pinned in `argocd/` exist in the registry, and was
//! it built from a commit on main?

use std::path::Path;

use serde::Serialize;

use super::listing::incomplete;
use crate::ancestry::{Ancestry, Marker};
use crate::error::{Error, Kind, Result};
use crate::output::Printer;
use crate::pins::{self, Pin};
use crate::registry::{Manifest, Registry};
use crate::tag::ImageTag;

/// One pin and what the registry said about it.
#[derive(Debug, Serialize)]
pub struct PinEntry {
    #[serde(flatten)]
    pub pin: Pin,
    pub image: String,
    /// present, missing or error.
    pub status: PinStatus,
    pub error: Option<String>,
    /// The whole failure behind `error`, for the exit code and hints.
    #[serde(skip)]
    pub failure: Option<Error>,
    /// The digest the registry answered with; null when the pin is not present or
    /// the registry named no digest.
    pub registry_digest: Option<String>,
    /// From the tag's commit; null for digest-only pins or tags outside the grammar.
    pub marker: Option<Marker>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    Present,
    Missing,
    Error,
}

#[derive(Debug, Serialize)]
pub struct PinReport {
    pub registry: String,
    pub main_ref: Option<String>,
    pub pins: Vec<PinEntry>,
}

pub(super) fn check_pins(
    registry: &Registry,
    root: &Path,
    ancestry: &mut Ancestry,
    printer: &mut Printer,
) -> Result<()> {
    let pins = pins::read_pins(root, &root.join("argocd"), registry.host())?;
    // One HEAD per distinct image and reference, however often the manifests repeat it.
    let mut distinct: Vec<(&str, &str)> = pins
        .iter()
        .map(|pin| (pin.repository.as_str(), pin.reference()))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let checked: Vec<Result<Manifest>> = if distinct.is_empty() {
        Vec::new()
    } else {
        crate::cli::block_on(futures::future::join_all(
            distinct
                .iter()
                .map(|(repository, reference)| registry.manifest(repository, reference)),
        ))
    };
    let answers: Vec<Result<Manifest>> = pins
        .iter()
        .map(|pin| {
            let key = (pin.repository.as_str(), pin.reference());
            distinct
                .binary_search(&key)
                .map(|index| checked[index].clone())
                .unwrap_or_else(|_| Err(Error::failed("internal: a pin was not checked")))
        })
        .collect();
    let entries: Vec<PinEntry> = pins
        .into_iter()
        .zip(answers)
        .map(|(pin, answer)| {
            let marker = pin
                .tag
                .as_deref()
                .and_then(ImageTag::parse)
                .map(|tag| ancestry.mark(&tag.sha7));
            let (status, failure, registry_digest) = match answer {
                Ok(Manifest::Present { digest }) => (PinStatus::Present, None, digest),
                Ok(Manifest::Missing) => (PinStatus::Missing, None, None),
                Err(err) if err.kind() == Kind::NotFound => (PinStatus::Missing, None, None),
                Err(err) => (PinStatus::Error, Some(err), None),
            };
            PinEntry {
                image: format!("{}/{}", registry.host(), pin.repository),
                pin,
                status,
                error: failure.as_ref().map(|e| e.message().to_owned()),
                failure,
                registry_digest,
                marker,
            }
        })
        .collect();
    let report = PinReport {
        registry: registry.host().to_owned(),
        main_ref: ancestry.main_ref().map(str::to_owned),
        pins: entries,
    };
    printer.print(&report)?;
    report.outcome()
}

impl PinReport {
    pub(super) fn count(&self, status: PinStatus) -> usize {
        self.pins.iter().filter(|p| p.status == status).count()
    }

    /// Exit 1 when a pin is missing (the check failed), else 3 when one could not be
    /// verified, else 0.
    fn outcome(&self) -> Result<()> {
        let (missing, errors) = (self.count(PinStatus::Missing), self.count(PinStatus::Error));
        if missing > 0 {
            return Err(Error::failed(format!(
                "{missing} of {} image pins are not in the registry",
                self.pins.len()
            ))
            .hint("was the image for that commit built and pushed? (mise run runner-logs)"));
        }
        if let Some(first) = self.pins.iter().find_map(|p| p.failure.as_ref()) {
            return Err(incomplete(
                format!(
                    "{errors} of {} image pins could not be verified",
                    self.pins.len()
                ),
                first,
            ));
        }
        Ok(())
    }
}
