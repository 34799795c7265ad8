//! `release-docs all`.

use opskit::commands::release_docs::all::Args;
use opskit::error::{Error, Result};

pub fn run(_args: Args) -> Result<()> {
    Err(Error::failed("release-docs all: being built"))
}
