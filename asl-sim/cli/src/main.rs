//! `asl-sim`: run, validate and evaluate AWS Step Functions state machines offline.
//!
//! This file only parses arguments and maps results to exit codes: 0 success,
//! 1 an execution that did not succeed (or a failed check), 2 a usage error or
//! an invalid definition.

use asl_sim::{cli, eval, graph, run, serve, simulate, testing, validate};
use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let code = match args.command {
        cli::Command::Run(a) => run::main(*a),
        cli::Command::Validate(a) => validate::main(a),
        cli::Command::Eval(a) => eval::main(a),
        cli::Command::Test(a) => testing::main(a),
        cli::Command::Graph(a) => graph::main(a),
        cli::Command::Serve(a) => serve::main(a),
        cli::Command::Token(a) => serve::token_main(a),
        cli::Command::Simulate(a) => simulate::main(a),
    };
    std::process::exit(code);
}
