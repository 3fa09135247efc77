//! `plugctl worker`, `submit` and `store create`: plug-fleet, on the
//! runtime and AWS configuration these flags resolve to.

use crate::cli::Output;
use crate::cli::fleet::{StoreCommand, SubmitArgs, WorkerArgs};
use crate::exit::{Exit, OrUsage, Outcome};

/// Takes run requests until SIGINT or SIGTERM.
pub fn worker(args: WorkerArgs) -> Outcome {
    let runtime = crate::setup::runtime(args.setup.flags())?;
    let (endpoints, lease) = ((args.queue.as_str(), args.store.as_str()), args.lease);
    let work = plug_fleet::front::serve_worker(runtime, endpoints, args.concurrency, lease);
    crate::setup::async_runtime()?.block_on(work).or_usage()?;
    Ok(Exit::Success)
}

/// Queues one run and prints its id (and, with `--wait`, how it ended).
pub fn submit(args: SubmitArgs) -> Outcome {
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    let submission = plug_fleet::front::Submission {
        plugin: args.plugin,
        skill: args.skill,
        params: args.params,
        queue: args.queue,
        store: args.store,
        wait: args.wait,
    };
    let submit = plug_fleet::front::submit_as_operator(&settings, submission);
    let run = crate::setup::async_runtime()?.block_on(submit).or_usage()?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string(&run).unwrap_or_default()),
        Output::Human => println!("{} {}", run.run_id, run.state),
    }
    let fine = ["queued", "succeeded"].contains(&run.state.as_str());
    Ok(crate::exit::findings_if(!fine))
}

/// Creates a run table.
pub fn store(command: StoreCommand) -> Outcome {
    let StoreCommand::Create { store } = command;
    let settings = crate::setup::settings(plug_runtime::Flags::default())?;
    let create = plug_fleet::front::create_table(&settings, &store);
    crate::setup::async_runtime()?.block_on(create).or_usage()?;
    println!("run table {store} is ready");
    Ok(Exit::Success)
}
