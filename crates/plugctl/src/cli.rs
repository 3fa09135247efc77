//! The command-line grammar.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Run agent plugins against AWS with permission checks, approvals and an audit trail.
#[derive(Debug, Parser)]
#[command(name = "plugctl", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 findings (validation errors, or warnings with --strict); 2 usage or I/O error.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plugins: manifest, skill files, paths, placeholders. Reports every finding.
    Validate {
        /// Plugin folders or manifest files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Show a plugin's skills, steps, params, permissions, MCP servers, hooks and config values.
    Inspect {
        /// A plugin folder or manifest file.
        path: PathBuf,
        /// An operator configuration value, `name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: annotated source excerpts.
    Human,
    /// For tools: JSON on stdout.
    Json,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}
