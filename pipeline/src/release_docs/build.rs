//! `release-docs build`.

use opskit::commands::release_docs::build::Args;
use opskit::error::{Error, Result};

pub fn run(_args: Args) -> Result<()> {
    Err(Error::failed("release-docs build: being built"))
}
