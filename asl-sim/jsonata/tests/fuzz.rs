//! Token-soup smoke test: random expressions must never panic.

const TOKENS: &[&str] = &[
    "a", "b", "$", "$$", "$x", "$f", ".", "[", "]", "{", "}", "(", ")", ",", ";", ":", "?", "+", "-", "*", "/", "%",
    "=", "!=", "<", ">", "<=", ">=", "&", "and", "or", "in", "~>", ":=", "..", "**", "@", "#", "^", "|", "1", "0",
    "2.5", "-1", "'s'", "\"t\"", "true", "false", "null", "function($x){$x}", "λ($a,$b){$a}", "$sum", "$string",
    "$map", "$sort", "$keys", "$match", "$replace", "/a+/", "/(b)/i", "$substring", "$formatNumber", "$fromMillis",
    "$toMillis", "'[Y]'", "'#,##0'", "$each", "$spread", "$merge", "$reduce", "$filter", "$zip", "$append",
    "$number", "$boolean", "$not", "$exists", "$count", "$split", "$join", "$pad", "$eval", "'1+'", "%", "`a`",
];

#[test]
fn random_expressions_never_panic() {
    let data = serde_json::json!({"a": [{"b": 1, "c": "x"}, {"b": [2, 3], "c": "y"}], "b": {"a": {"b": 4}}});
    let bindings = serde_json::Map::new();
    let mut seed: u64 = std::env::var("JSONATA_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x9E3779B97F4A7C15);
    let rounds: usize = std::env::var("JSONATA_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..rounds {
        let n = 1 + (next() % 12) as usize;
        let mut expr: Vec<&str> = (0..n).map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize]).collect();
        // often make it a call, so that library functions see odd arguments
        if next() % 2 == 0 {
            let f = TOKENS[52 + (next() % (TOKENS.len() as u64 - 52)) as usize];
            expr.insert(0, "(");
            expr.insert(0, f);
            expr.push(")");
            if next() % 3 == 0 {
                expr.insert(2, ",");
                expr.insert(2, TOKENS[(next() % 52) as usize]);
            }
        }
        let expr = expr.join(" ");
        let shown = expr.clone();
        let d = data.clone();
        let b = bindings.clone();
        let r = std::panic::catch_unwind(move || {
            let mut rnd = || 0.3;
            let mut env = jsonata::Env { bindings: &b, now_millis: 0, random: &mut rnd };
            jsonata::parse(&expr).and_then(|e| e.evaluate(Some(&d), &mut env)).map(|_| ())
        });
        assert!(r.is_ok(), "panic on {}", shown);
    }
}
