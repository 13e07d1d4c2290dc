//! `asl-sim graph`: reads a definition and writes its diagram (drawn by asl-viz).

use asl_viz::graph;
use clap::ValueEnum;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The definition file (JSON or YAML).
    pub definition: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
    /// Fill a `${NAME}` placeholder (SAM DefinitionSubstitutions); repeatable.
    #[arg(long = "sub", value_name = "NAME=VALUE")]
    pub subs: Vec<String>,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn main(args: GraphArgs) -> i32 {
    let subs = match crate::cli::parse_pairs(&args.subs, "sub") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let name = args.definition.display().to_string();
    let text = match std::fs::read_to_string(&args.definition) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {name}: {e}");
            return 2;
        }
    };
    let (def, diags) = asl_core::load_definition(&text, &subs);
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == asl_core::diagnostic::Severity::Error).collect();
    let Some(def) = def.filter(|_| errors.is_empty()) else {
        for d in &errors {
            eprint!("{}", asl_core::render::diagnostic(&name, &text, d));
        }
        eprintln!("error: the definition is invalid");
        return 2;
    };
    let g = graph::model::build(&def);
    let title = args.definition.file_name().and_then(|s| s.to_str()).map(|s| s.split('.').next().unwrap_or(s).to_string());
    let out = match args.format {
        GraphFormat::Mermaid => graph::text::mermaid(&g, title.as_deref()),
        GraphFormat::Dot => graph::text::dot(&g, title.as_deref()),
        GraphFormat::Svg => graph::svg::render(&g, None),
    };
    match &args.output {
        Some(f) => {
            if let Err(e) = std::fs::write(f, out) {
                eprintln!("error: cannot write {}: {e}", f.display());
                return 2;
            }
        }
        None => print!("{out}"),
    }
    0
}
