//! `asl-sim graph`: the state machine as a diagram (issue 8). Placeholder until implemented.

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The definition file.
    pub definition: std::path::PathBuf,
}

pub fn main(_args: GraphArgs) -> i32 {
    eprintln!("error: asl-sim graph is not implemented yet");
    2
}
