//! `release-docs deploy`.

use clap::Parser;

use crate::error::{Error, Result};

/// (being built)
#[derive(Debug, Parser)]
pub struct Args {}

pub fn run(_args: Args) -> Result<()> {
    Err(Error::failed("release-docs deploy: not built yet"))
}
