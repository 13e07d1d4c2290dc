//! The command line, declared with clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "asl-sim", version, about = "Run AWS Step Functions state machines offline, exactly as AWS runs them")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run one execution of a state machine definition (JSON or YAML).
    // Boxed: RunArgs is by far the largest variant.
    Run(Box<RunArgs>),
    /// Check definitions as CreateStateMachine would, plus lints.
    Validate(ValidateArgs),
    /// Evaluate one JSONata expression, JSONPath or intrinsic call against a document.
    Eval(EvalArgs),
    /// Run workflow test suites (`*.test.yaml`) and report like cargo test.
    Test(crate::testing::TestArgs),
    /// Draw a state machine (Mermaid, Graphviz dot, SVG).
    Graph(crate::graph::GraphArgs),
    /// Run the whole application of a SAM template offline.
    Serve(crate::serve::ServeArgs),
    /// Print a JWT that `asl-sim serve`'s local authorizer accepts.
    Token(crate::serve::TokenArgs),
    /// Run many executions under a seeded scheduler with faults, then check invariants.
    Simulate(crate::simulate::SimulateArgs),
    /// Run one state alone, as Step Functions' TestState API does (mocks, inspection data).
    TestState(crate::test_state::TestStateArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum MachineType {
    Standard,
    Express,
}

#[derive(Args)]
pub struct RunArgs {
    /// The definition file (`.json`, `.asl.json`, `.yaml`, `.asl.yaml`).
    pub definition: PathBuf,
    /// The execution input: a JSON file, or `-` for standard input. Default `{}`.
    #[arg(long)]
    pub input: Option<String>,
    /// Output format; `text` by default on a terminal, `json` otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Fill a `${NAME}` placeholder (SAM DefinitionSubstitutions); repeatable.
    #[arg(long = "sub", value_name = "NAME=VALUE")]
    pub subs: Vec<String>,
    /// The workflow type.
    #[arg(long = "type", value_enum, default_value = "STANDARD")]
    pub machine_type: MachineType,
    /// A JSON object with any of Region, Partition, Account, StateMachineName, ExecutionName, RoleArn.
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Write the execution history (GetExecutionHistory's shape) to this file.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Wait for real in Wait states and retry back-off (default: a virtual clock).
    #[arg(long)]
    pub real_time: bool,
    /// Seed the services' state from a JSON or YAML fixture file.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Make Lambda function NAME a local command: `NAME=COMMAND` (event on stdin, result on stdout).
    #[arg(long = "lambda", value_name = "NAME=COMMAND")]
    pub lambdas: Vec<String>,
    /// Load the services' state from DIR before the run and save it after.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Write the services' final state as JSON to FILE.
    #[arg(long)]
    pub dump_state: Option<PathBuf>,
    /// Step Functions Local mock config file.
    #[arg(long)]
    pub mock_config: Option<PathBuf>,
    /// The test case of the mock config to use.
    #[arg(long)]
    pub test_case: Option<String>,
    /// Another state machine that `states:startExecution` can run: `NAME=FILE`; repeatable.
    #[arg(long = "machine", value_name = "NAME=FILE")]
    pub machines: Vec<String>,
    /// Write a self-contained HTML report of the execution to FILE.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Seed for ids and randomness (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// EventBridge connections for HTTP Tasks: a JSON or YAML file with a `Connections` list, or a template's `AWS::Events::Connection` resources.
    #[arg(long)]
    pub connections: Option<PathBuf>,
    /// Answer a service asl-sim does not emulate with a command: `SERVICE=COMMAND` (`*` for any); repeatable.
    #[arg(long = "handler", value_name = "SERVICE=COMMAND")]
    pub handlers: Vec<String>,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Definition files to check.
    #[arg(required = true)]
    pub definitions: Vec<PathBuf>,
    /// Fill a `${NAME}` placeholder; repeatable.
    #[arg(long = "sub", value_name = "NAME=VALUE")]
    pub subs: Vec<String>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// A JSONata expression.
    #[arg(long, conflicts_with_all = ["jsonpath", "intrinsic"], allow_hyphen_values = true)]
    pub jsonata: Option<String>,
    /// A JSONPath (Step Functions' dialect).
    #[arg(long, conflicts_with = "intrinsic")]
    pub jsonpath: Option<String>,
    /// An intrinsic function call, e.g. `States.Format('{}', $.a)`.
    #[arg(long)]
    pub intrinsic: Option<String>,
    /// The input document (JSON file); without it the input is undefined.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// A JSON object of variables (names without `$`).
    #[arg(long)]
    pub bindings: Option<PathBuf>,
}

/// `NAME=VALUE` pairs into a map; the error names the bad pair.
pub fn parse_pairs(pairs: &[String], flag: &str) -> Result<std::collections::HashMap<String, String>, String> {
    let mut m = std::collections::HashMap::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                m.insert(k.to_string(), v.to_string());
            }
            _ => return Err(format!("--{flag} expects NAME=VALUE, got {p:?}")),
        }
    }
    Ok(m)
}
