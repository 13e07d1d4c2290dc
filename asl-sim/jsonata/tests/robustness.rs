//! No panics and no stack overflows on hostile input: errors instead.

fn eval(expr: &str) -> Result<Option<serde_json::Value>, jsonata::Error> {
    let b = serde_json::Map::new();
    let mut rnd = || 0.25;
    let mut env = jsonata::Env { bindings: &b, now_millis: 0, random: &mut rnd };
    jsonata::parse(expr)?.evaluate(None, &mut env)
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep_parens = format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000));
    assert!(eval(&deep_parens).is_err());
    let deep_calls = format!("{}{}", "$f(".repeat(5_000), ")".repeat(5_000));
    assert!(eval(&deep_calls).is_err());
    let long_sum = format!("1{}", "+1".repeat(50_000));
    assert!(eval(&long_sum).is_err());
    let negs = format!("{}1", "-".repeat(50_000));
    assert!(eval(&negs).is_err());
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let r = eval("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(1000000))");
    assert_eq!(r.unwrap_err().code, "U1001");
    // tail calls run in constant stack
    let r = eval("($f := function($n, $a){$n = 0 ? $a : $f($n - 1, $a + 1)}; $f(200000, 0))");
    assert_eq!(r.unwrap(), Some(serde_json::json!(200000)));
}

#[test]
fn deep_values_are_freed_without_overflow() {
    assert!(eval("$reduce([1..100000], function($a, $b){[[$a]]}, 0)").is_err());
    assert!(eval("$reduce([1..100000], function($a, $b){{'a': $a}}, 0)").is_err());
    let r = eval("$reduce([1..100000], function($a, $b){{'a': $a}}, 0) ~> $type()");
    assert_eq!(r.unwrap(), Some(serde_json::json!("object")));
}

#[test]
fn api_shapes() {
    let e = jsonata::parse("1 + 1").unwrap();
    let b = serde_json::Map::new();
    let mut rnd = || 0.5;
    let mut env = jsonata::Env { bindings: &b, now_millis: 0, random: &mut rnd };
    let v = e.evaluate(None, &mut env).unwrap().unwrap();
    assert_eq!(v.to_string(), "2");
    let err = jsonata::parse("1 +").err().unwrap();
    assert_eq!(err.code, "S0207");
    assert!(err.to_string().starts_with("S0207: "));
    let mut b = serde_json::Map::new();
    b.insert("states".into(), serde_json::json!({"input": {"x": 3}}));
    let mut env = jsonata::Env { bindings: &b, now_millis: 0, random: &mut rnd };
    let v = jsonata::parse("$states.input.x * 2").unwrap().evaluate(None, &mut env).unwrap();
    assert_eq!(v, Some(serde_json::json!(6)));
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&e);
}
