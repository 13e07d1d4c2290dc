//! `asl-sim validate`: every diagnostic of every file; exit 1 on any error.

use crate::cli::{parse_pairs, ValidateArgs};
use asl_core::diagnostic::Severity;

pub fn main(args: ValidateArgs) -> i32 {
    let subs = match parse_pairs(&args.subs, "sub") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut errors = 0;
    let mut warnings = 0;
    for path in &args.definitions {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{name}: error: cannot read the file: {e}");
                errors += 1;
                continue;
            }
        };
        let (_, mut diags) = asl_core::load_definition(&text, &subs);
        diags.sort_by_key(|d| (d.pos, d.code));
        for d in &diags {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            eprint!("{}", crate::render::diagnostic(&name, &text, d));
        }
    }
    eprintln!("{} file(s) checked: {errors} error(s), {warnings} warning(s)", args.definitions.len());
    if errors > 0 {
        1
    } else {
        0
    }
}
