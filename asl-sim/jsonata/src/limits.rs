//! Bounds on what one evaluation may build or do, so that no expression can exhaust memory
//! or run forever.
//!
//! jsonata-js itself has none of these: a runaway expression there ends in a JavaScript
//! `RangeError` (string or array too long, stack exhausted) or only when the harness's
//! `timeboxExpression` guard fires (U1001 depth, U1002 time). AWS documents no JSONata
//! evaluation limits for Step Functions
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html> is silent),
//! but every value an expression can hand to a state is capped by the 256 KiB payload quota
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>), so a string
//! builder that would go past it is refused before it allocates, with JSONata's own code family
//! for implementation limits (`U`): U1003 joins U1001 (stack) and U1002 (timeout).

use crate::errors::make;
use crate::Error;

/// Longest string (UTF-8 bytes) a builder may produce: the Step Functions payload quota.
pub(crate) const MAX_STRING_BYTES: usize = 262_144;

/// Most items one array may hold: jsonata's own bound on the range operator (D2014), applied
/// to every array builder so that doubling an array in a loop cannot exhaust memory.
pub(crate) const MAX_ARRAY_ITEMS: usize = 10_000_000;

/// Most values a result may expand to when it becomes JSON: shared sub-arrays (`[$a, $a]`
/// nested 60 times) cost nothing inside the evaluator but 2^60 values once written out. A
/// 256 KiB payload holds at most 131,072 values (`1,` is two bytes), so a million leaves room
/// for `asl-sim eval` while keeping the expansion to about 100 MB.
pub(crate) const MAX_OUTPUT_VALUES: usize = 1_000_000;

/// Evaluation steps (expression nodes evaluated) before an evaluation is declared endless
/// (U1002). A step count, not jsonata-js's wall-clock guard, so that a run replays exactly
/// (simulate, fuzzing) whatever the machine's load. Builtins over whole arrays count once, so
/// `[1..10000000] ~> $count()` is a few steps; mapping a lambda over a million items is a few
/// million. An endless loop stops in well under a second in a release build.
pub(crate) const MAX_STEPS: u64 = 20_000_000;

/// Values touched by the evaluator's per-item work (range items built, path results
/// flattened, tuple bindings copied, group-by and sort inputs, builtin arguments) before an
/// evaluation is declared endless (U1002). Node steps alone miss work that grows without
/// evaluating nodes: fifty focus-bound `@` steps over a 3-item list build 3^50 tuples, each a
/// copy of the previous bindings, and ran past two minutes while the step count stayed small.
/// JSONata's largest legal range (ten million items) summed or counted costs twenty million;
/// the budget allows five such passes, a few seconds of work in a release build at most.
pub(crate) const MAX_WORK: u64 = 100_000_000;

/// The U1003 error: `what` would build `size` units (`unit`: "bytes", "items") past `limit`.
pub(crate) fn too_big(what: &str, size: u128, unit: &str, limit: usize, pos: Option<usize>) -> Error {
    make(
        "U1003",
        pos,
        None,
        Some(&format!("{what} would build {size} {unit}; at most {limit} are allowed")),
    )
}

/// Refuses a string of `bytes` built by `what`.
pub(crate) fn check_string(what: &str, bytes: u128, pos: usize) -> Result<(), Error> {
    if bytes > MAX_STRING_BYTES as u128 {
        return Err(too_big(what, bytes, "bytes", MAX_STRING_BYTES, Some(pos)));
    }
    Ok(())
}

/// Refuses an array of `items` built by `what`.
pub(crate) fn check_array(what: &str, items: u128, pos: usize) -> Result<(), Error> {
    if items > MAX_ARRAY_ITEMS as u128 {
        return Err(too_big(what, items, "items", MAX_ARRAY_ITEMS, Some(pos)));
    }
    Ok(())
}
