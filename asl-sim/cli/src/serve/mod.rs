//! `asl-sim serve`: the whole application offline from template.yaml (issue 5). Placeholder until implemented.

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The SAM/CloudFormation template.
    #[arg(long, default_value = "template.yaml")]
    pub template: std::path::PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// The user (the token's `sub`).
    pub user: String,
}

pub fn main(_args: ServeArgs) -> i32 {
    eprintln!("error: asl-sim serve is not implemented yet");
    2
}

pub fn token_main(_args: TokenArgs) -> i32 {
    eprintln!("error: asl-sim token is not implemented yet");
    2
}
