//! Arguments of the plugin store's commands: `install`, `list`, `update`,
//! `remove`, `marketplace`, `config`.

use clap::{Args, Subcommand};

use super::value::{Output, parse_key_value};

/// `plugctl install`.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// A plugin folder, a git URL (`URL#REF` for a branch, tag or commit),
    /// `name@marketplace`, or `s3://BUCKET/PREFIX#NAME[@VERSION]` from a registry.
    pub source: String,
    /// An operator configuration value, `name=value` (repeatable); values the
    /// plugin marks sensitive are kept out of the lock file and of the output.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
}

/// `plugctl publish`.
#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The plugin folder (it must validate and have a `version`).
    pub plugin: std::path::PathBuf,
    /// The registry, `s3://BUCKET/PREFIX`.
    pub registry: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `plugctl list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// `plugctl update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The installed plugins to update (all when none is named).
    pub names: Vec<String>,
}

/// `plugctl remove`.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The installed plugin.
    pub name: String,
    /// Keep the plugin's data folder (`CLAUDE_PLUGIN_DATA`) for a later reinstall.
    #[arg(long)]
    pub keep_data: bool,
}

/// `plugctl config` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Set user configuration values of an installed plugin (as `install --set` does).
    Set {
        /// The installed plugin.
        plugin: String,
        /// `name=value` pairs; values the plugin marks sensitive go to the secrets file.
        #[arg(required = true, value_name = "NAME=VALUE", value_parser = parse_key_value)]
        values: Vec<(String, String)>,
    },
}

/// `plugctl marketplace` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum MarketplaceCommand {
    /// Add (or refresh) a marketplace from a folder or a git URL (`URL#REF`).
    Add {
        /// The marketplace's folder or git URL.
        source: String,
    },
    /// List the marketplaces added.
    List,
}
