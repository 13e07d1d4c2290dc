//! `asl-sim test`: workflow test suites (issue 8). Placeholder until implemented.

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Test files or directories (default: the current directory).
    pub paths: Vec<std::path::PathBuf>,
}

pub fn main(_args: TestArgs) -> i32 {
    eprintln!("error: asl-sim test is not implemented yet");
    2
}
