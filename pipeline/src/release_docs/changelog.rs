//! `release-docs changelog`.

use opskit::commands::release_docs::changelog::Args;
use opskit::error::{Error, Result};

pub fn run(_args: Args) -> Result<()> {
    Err(Error::failed("release-docs changelog: being built"))
}
