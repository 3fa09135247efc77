//! Installed plugins' names wherever a command takes a plugin path: the
//! name becomes the installed folder, after its digest is checked.

use std::path::PathBuf;

use plug_store::{Store, StoreError};

use crate::cli::{Command, HooksCommand, McpCommand};
use crate::exit::Exit;

/// Replaces every plugin argument that names no file but an installed plugin
/// with that plugin's folder, after checking its digest: a tampered plugin
/// stops the command here.
pub fn resolve_installed_names(command: &mut Command) -> Result<(), Exit> {
    let mut paths: Vec<&mut PathBuf> = Vec::new();
    match command {
        Command::Run(a) | Command::Plan(a) => paths.push(&mut a.plugin),
        Command::Validate { paths: all, .. } => paths.extend(all.iter_mut()),
        Command::Inspect { path, .. } => paths.push(path),
        Command::Check { plugin, .. } => paths.push(plugin),
        Command::Hooks {
            command: HooksCommand::Run { plugin, .. },
        } => paths.push(plugin),
        Command::Mcp {
            command: McpCommand::Tools { plugin, .. } | McpCommand::Call { plugin, .. },
        } => paths.push(plugin),
        Command::Serve(args) => paths.extend(args.plugins.iter_mut()),
        _ => {}
    }
    paths.into_iter().try_for_each(resolve)
}

fn resolve(path: &mut PathBuf) -> Result<(), Exit> {
    let name = path.to_str().filter(|n| {
        !path.exists() && !n.is_empty() && !n.contains(['/', '\\']) && !n.starts_with('.')
    });
    let (Some(name), Some(store)) = (name, Store::open_default()) else {
        return Ok(());
    };
    match store.resolve(name) {
        Ok(dir) => {
            *path = dir;
            Ok(())
        }
        // Not installed either: the command reports the missing path itself.
        Err(StoreError::NotInstalled(_)) => Ok(()),
        Err(e) => Err(crate::exit::store_failed(&e)),
    }
}
