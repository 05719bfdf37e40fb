use std::process::ExitCode;

use clap::Parser;
use svc::cli::{Cli, Command};

// jemalloc for everything, and a bump arena for each file's syntax tree (see `svc::alloc`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: svc::alloc::ArenaAlloc<tikv_jemallocator::Jemalloc> =
    svc::alloc::ArenaAlloc::new(tikv_jemallocator::Jemalloc);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(args) => svc::audit::run(&args),
        Command::Rules(args) => svc::audit::list_rules(&args),
        Command::Explain(args) => svc::audit::explain(&args),
        Command::Inspect(args) => svc::audit::inspect(&args),
        Command::New(args) => svc::new::run(&args),
        Command::Init(args) => svc::init::run(&args),
        Command::Update(args) => svc::update::run(&args),
        Command::Check(args) => svc::update::check::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}
