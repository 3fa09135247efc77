//! `plugctl install`, `list`, `update`, `remove` and `marketplace`: the
//! plugin store (see plug-store), and installed names wherever a command
//! takes a plugin path.

use plug_store::Store;

use crate::cli::Output;
use crate::cli::store::{
    ConfigCommand, InstallArgs, ListArgs, MarketplaceCommand, PublishArgs, RemoveArgs, UpdateArgs,
};
use crate::exit::{Exit, OrUsage, Outcome, store_failed as failed};

/// The store, able to fetch from S3 registries as the operator.
fn store() -> Result<Store, Exit> {
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    plug_runtime::registry::plugin_store(&settings).ok_or_else(|| {
        eprintln!("error: no store folder: set PLUGCTL_HOME (or XDG_DATA_HOME or HOME)");
        Exit::Usage
    })
}

/// Installs one plugin, and says which required user configuration values
/// are still unset (it installs, as in Claude Code, but will not run yet).
pub fn install(args: InstallArgs) -> Outcome {
    let store = store()?;
    let installed = (store.install(&args.source, &args.set)).map_err(|e| failed(&e))?;
    println!("installed {}", installed.summary());
    warn_missing_config(&store, &installed.name);
    Ok(Exit::Success)
}

/// Publishes a plugin folder to an S3 registry, as the operator.
pub fn publish(args: PublishArgs) -> Outcome {
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    let publish = plug_runtime::registry::publish(&settings, &args.plugin, &args.registry);
    let published = (crate::setup::async_runtime()?.block_on(publish)).or_usage()?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string(&published).unwrap_or_default()),
        Output::Human => println!("{published}"),
    }
    Ok(Exit::Success)
}

/// Lists installed plugins; `--output json` prints the lock entries (no secrets are in them).
pub fn list(args: ListArgs) -> Outcome {
    let installed = store()?.list().map_err(|e| failed(&e))?;
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&installed).unwrap_or_else(|_| "[]".into())
        ),
        Output::Human if installed.is_empty() => println!("no plugins installed"),
        Output::Human => installed.iter().for_each(|p| println!("{}", p.summary())),
    }
    Ok(Exit::Success)
}

/// Updates the named plugins, or every installed one.
pub fn update(args: UpdateArgs) -> Outcome {
    let store = store()?;
    let names = match args.names.is_empty() {
        false => args.names,
        true => store
            .list()
            .map_err(|e| failed(&e))?
            .into_iter()
            .map(|p| p.name)
            .collect(),
    };
    let mut exit = Ok(Exit::Success);
    for name in names {
        match store.update(&name) {
            Ok(u) if u.changed => println!(
                "{name}: updated {} -> {}",
                u.from.as_deref().unwrap_or("?"),
                u.to.as_deref().unwrap_or("?")
            ),
            Ok(_) => println!("{name}: up to date"),
            Err(e) => exit = Err(failed(&e)),
        }
    }
    exit
}

/// Removes one installed plugin.
pub fn remove(args: RemoveArgs) -> Outcome {
    let removed = store()?
        .remove_with(&args.name, args.keep_data)
        .map_err(|e| failed(&e))?;
    println!("removed {}", removed.name);
    Ok(Exit::Success)
}

/// Adds or lists marketplaces.
pub fn marketplace(command: MarketplaceCommand) -> Outcome {
    let store = store()?;
    match command {
        MarketplaceCommand::Add { source } => {
            let m = store.add_marketplace(&source).map_err(|e| failed(&e))?;
            println!("added marketplace {} from {}", m.name, m.source);
        }
        MarketplaceCommand::List => {
            let lock = store.lock().map_err(|e| failed(&e))?;
            for m in lock.marketplaces.values() {
                println!("{} from {}", m.name, m.source);
            }
        }
    }
    Ok(Exit::Success)
}

/// Changes an installed plugin's user configuration.
pub fn config(command: ConfigCommand) -> Outcome {
    let store = store()?;
    let ConfigCommand::Set { plugin, values } = command;
    let installed = store.set_config(&plugin, &values).map_err(|e| failed(&e))?;
    let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    println!("{}: set {}", installed.name, keys.join(", "));
    warn_missing_config(&store, &installed.name);
    Ok(Exit::Success)
}

/// Says which required user configuration values are still unset.
fn warn_missing_config(store: &Store, name: &str) {
    if let Some(warning) = plug_runtime::registry::missing_config(store, name) {
        eprintln!("warning: {warning}");
    }
}
