//! Step Functions Local's mock config file (`--mock-config FILE --test-case NAME`).
//! One response counter per state per execution: every invocation advances
//! it, retries and Map iterations included, as SFN Local 2.0 does.

use asl_core::engine::TaskError;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Response {
    Return(Value),
    Throw { error: String, cause: String },
}

#[derive(Debug, Clone)]
pub struct MockConfig {
    /// State name → the responses for invocations 0, 1, 2, ...
    states: HashMap<String, Vec<Response>>,
    counters: HashMap<String, usize>,
}

impl MockConfig {
    /// Reads the test case `test_case` of state machine `machine` (or of the
    /// only state machine that has that test case).
    pub fn load(doc: &Value, machine: &str, test_case: &str) -> Result<MockConfig, String> {
        let machines = doc.get("StateMachines").and_then(Value::as_object).ok_or("the mock config has no StateMachines object")?;
        let responses = doc.get("MockedResponses").and_then(Value::as_object).ok_or("the mock config has no MockedResponses object")?;
        let case = machines
            .get(machine)
            .and_then(|m| m.get("TestCases"))
            .and_then(|t| t.get(test_case))
            .or_else(|| {
                let found: Vec<&Value> = machines.values().filter_map(|m| m.get("TestCases").and_then(|t| t.get(test_case))).collect();
                (found.len() == 1).then(|| found[0])
            })
            .and_then(Value::as_object)
            .ok_or_else(|| format!("the mock config has no test case \"{test_case}\" for state machine \"{machine}\""))?;
        let mut states = HashMap::new();
        for (state, resp_name) in case {
            let resp_name = resp_name.as_str().ok_or_else(|| format!("test case \"{test_case}\": the mock for state \"{state}\" must name a MockedResponses entry"))?;
            let entry = responses.get(resp_name).and_then(Value::as_object).ok_or_else(|| format!("MockedResponses has no entry \"{resp_name}\""))?;
            let mut ranges: Vec<(usize, usize, Response)> = Vec::new();
            for (key, r) in entry {
                let (lo, hi) = match key.split_once('-') {
                    Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
                    None => (key.parse::<usize>(), key.parse::<usize>()),
                };
                let (Ok(lo), Ok(hi)) = (lo, hi) else {
                    return Err(format!("MockedResponses.{resp_name}: \"{key}\" is not an invocation index or range like \"1-2\""));
                };
                let resp = match (r.get("Return"), r.get("Throw")) {
                    (Some(v), None) => Response::Return(v.clone()),
                    (None, Some(t)) => {
                        let error = t.get("Error").and_then(Value::as_str).ok_or_else(|| format!("MockedResponses.{resp_name}.{key}.Throw needs Error"))?;
                        let cause = t.get("Cause").and_then(Value::as_str).ok_or_else(|| format!("MockedResponses.{resp_name}.{key}.Throw needs Cause"))?;
                        Response::Throw { error: error.into(), cause: cause.into() }
                    }
                    _ => return Err(format!("MockedResponses.{resp_name}.{key} must have exactly one of Return or Throw")),
                };
                ranges.push((lo, hi, resp));
            }
            ranges.sort_by_key(|r| r.0);
            let mut list = Vec::new();
            for (lo, hi, resp) in ranges {
                if lo != list.len() || hi < lo {
                    return Err(format!("MockedResponses.{resp_name}: mock responses must be consecutively numbered from 0"));
                }
                for _ in lo..=hi {
                    list.push(resp.clone());
                }
            }
            states.insert(state.clone(), list);
        }
        Ok(MockConfig { states, counters: HashMap::new() })
    }

    /// The mocked response for this invocation of `state`, if the state is mocked.
    pub fn respond(&mut self, state: &str) -> Option<Result<Value, TaskError>> {
        let list = self.states.get(state)?;
        let n = self.counters.entry(state.to_string()).or_insert(0);
        let r = list.get(*n).cloned();
        *n += 1;
        Some(match r {
            Some(Response::Return(v)) => Ok(v),
            Some(Response::Throw { error, cause }) => Err(TaskError { error, cause: Some(cause) }),
            None => Err(TaskError {
                error: "States.Runtime".into(),
                cause: Some(format!("The mock config has no response for invocation {} of state '{state}'.", *n - 1)),
            }),
        })
    }
}
