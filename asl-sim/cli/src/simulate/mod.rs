//! `asl-sim simulate`: deterministic simulation of concurrent executions (issue 7). Placeholder until implemented.

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The scenario file (YAML).
    pub scenario: std::path::PathBuf,
}

pub fn main(_args: SimulateArgs) -> i32 {
    eprintln!("error: asl-sim simulate is not implemented yet");
    2
}
