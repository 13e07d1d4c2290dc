//! `asl-sim`: run, validate and evaluate AWS Step Functions state machines offline.
//!
//! This file only parses arguments and maps results to exit codes: 0 success,
//! 1 an execution that did not succeed (or a failed check), 2 a usage error or
//! an invalid definition.

use asl_sim::{cli, eval, graph, run, serve, simulate, test_state, testing, validate};
use clap::Parser;

// Executions build and drop many small JSON values; mimalloc's per-thread free lists
// make that about a third cheaper than glibc's malloc (tests/bench/map.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    end_quietly_when_output_closes();
    std::process::exit(on_a_deep_stack(command));
}

fn command() -> i32 {
    let args = cli::Cli::parse();
    match args.command {
        cli::Command::Run(a) => run::main(*a),
        cli::Command::Validate(a) => validate::main(a),
        cli::Command::Eval(a) => eval::main(a),
        cli::Command::Test(a) => testing::main(a),
        cli::Command::Graph(a) => graph::main(a),
        cli::Command::Serve(a) => serve::main(a),
        cli::Command::Token(a) => serve::token_main(a),
        cli::Command::Simulate(a) => simulate::main(a),
        cli::Command::TestState(a) => test_state::main(a),
    }
}

/// Runs `f` on a thread with a 1 GiB stack. An execution can build values nested tens of
/// thousands of levels deep within the 256 KiB payload limit (`[[[...]]]` is 2 bytes a level;
/// a Pass state that nests its input, in a loop), and serde_json clones, drops and writes them
/// recursively: on the main thread's 8 MiB that was a stack overflow (abort) instead of AWS's
/// error. The stack is only reserved; pages are used as deep as a value goes.
fn on_a_deep_stack(f: fn() -> i32) -> i32 {
    match std::thread::Builder::new().name("main".into()).stack_size(1 << 30).spawn(f) {
        Ok(worker) => worker.join().unwrap_or(101),
        // no room for the big stack: run as before
        Err(_) => f(),
    }
}

/// `asl-sim run ... | head` closes stdout early; `println!` then panics (exit 101, a backtrace
/// hint on stderr). Unix tools die of SIGPIPE there. Rust ignores SIGPIPE, and restoring it is
/// not an option: a local Lambda command that exits without reading its stdin would then kill
/// asl-sim. So a print to a closed stdout/stderr ends the process silently with the status a
/// shell reports for SIGPIPE (128 + 13), and every other panic keeps the default report.
fn end_quietly_when_output_closes() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        // std's wording for a failed `print!`/`eprint!` (library/std/src/io/stdio.rs).
        let failed_print = message.starts_with("failed printing to stdout") || message.starts_with("failed printing to stderr");
        if failed_print && message.to_ascii_lowercase().contains("broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}
