//! Activities: tasks that wait for a worker (`GetActivityTask`), as AWS's
//! "Learn about Activities in Step Functions" describes
//! (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html).
//!
//! The World only keeps what workers can take: the activities created (by the
//! API or the template) and, per activity ARN, the tasks scheduled and not yet
//! handed to a worker, oldest first. The execution that scheduled a task keeps
//! waiting on its token; answers come back through SendTask* to the execution.

use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};

/// One scheduled activity task, as GetActivityTask hands it out.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityTask {
    pub token: String,
    /// The task's input (the state's effective Parameters), as JSON.
    pub input: Value,
    pub execution_arn: String,
    pub state_name: String,
}

/// An activity created with CreateActivity (or from the template).
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
}

#[derive(Default, Debug)]
pub struct Activities {
    pub created: BTreeMap<String, Activity>,
    queued: BTreeMap<String, VecDeque<ActivityTask>>,
}

impl Activities {
    /// Offers a task to the workers of `activity_arn`.
    pub fn offer(&mut self, activity_arn: &str, task: ActivityTask) {
        self.queued.entry(activity_arn.to_string()).or_default().push_back(task);
    }

    /// The oldest task waiting for a worker of `activity_arn`.
    pub fn take(&mut self, activity_arn: &str) -> Option<ActivityTask> {
        let q = self.queued.get_mut(activity_arn)?;
        let t = q.pop_front();
        if q.is_empty() {
            self.queued.remove(activity_arn);
        }
        t
    }

    /// Forgets tasks no execution waits for any more (stopped, timed out).
    pub fn withdraw(&mut self, token: &str) {
        for q in self.queued.values_mut() {
            q.retain(|t| t.token != token);
        }
        self.queued.retain(|_, q| !q.is_empty());
    }

    /// Keeps the queued tasks whose token `keep` accepts (a restart: tasks no restored
    /// execution waits on are dropped).
    pub fn retain_tasks(&mut self, mut keep: impl FnMut(&str) -> bool) {
        for q in self.queued.values_mut() {
            q.retain(|t| keep(&t.token));
        }
        self.queued.retain(|_, q| !q.is_empty());
    }

    /// The activities and their queued tasks, as a driver stores them.
    pub fn to_json(&self) -> Value {
        let created: Vec<Value> = self.created.values().map(|a| json!({"arn": a.arn, "name": a.name, "created": a.created_ms, "tags": a.tags})).collect();
        let queued: serde_json::Map<String, Value> = self
            .queued
            .iter()
            .map(|(arn, q)| {
                let tasks: Vec<Value> = q.iter().map(|t| json!({"token": t.token, "input": t.input, "execution": t.execution_arn, "state": t.state_name})).collect();
                (arn.clone(), Value::Array(tasks))
            })
            .collect();
        json!({"created": created, "queued": queued})
    }

    /// What [`Activities::to_json`] wrote.
    pub fn from_json(v: &Value) -> Result<Activities, String> {
        let text = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).map(str::to_string).ok_or(format!("a stored activity has no {k}"));
        let mut a = Activities::default();
        for x in v.get("created").and_then(Value::as_array).into_iter().flatten() {
            let tags = x.get("tags").and_then(Value::as_object).into_iter().flatten().filter_map(|(k, t)| Some((k.clone(), t.as_str()?.to_string()))).collect();
            let activity = Activity { arn: text(x, "arn")?, name: text(x, "name")?, created_ms: x.get("created").and_then(Value::as_i64).unwrap_or(0), tags };
            a.created.insert(activity.arn.clone(), activity);
        }
        for (arn, tasks) in v.get("queued").and_then(Value::as_object).into_iter().flatten() {
            for t in tasks.as_array().into_iter().flatten() {
                let task = ActivityTask { token: text(t, "token")?, input: t.get("input").cloned().unwrap_or(Value::Null), execution_arn: text(t, "execution")?, state_name: text(t, "state")? };
                a.offer(arn, task);
            }
        }
        Ok(a)
    }

    /// How many tasks wait for a worker, all activities together.
    pub fn waiting(&self) -> usize {
        self.queued.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(token: &str) -> ActivityTask {
        ActivityTask { token: token.into(), input: json!({}), execution_arn: "e".into(), state_name: "S".into() }
    }

    #[test]
    fn activities_and_queued_tasks_round_trip_through_json() {
        let mut a = Activities::default();
        let arn = "arn:aws:states:us-east-1:123456789012:activity:work";
        a.created.insert(arn.into(), Activity { arn: arn.into(), name: "work".into(), created_ms: 5, tags: [("k".to_string(), "v".to_string())].into() });
        a.offer(arn, task("t1"));
        a.offer(arn, task("t2"));
        let mut back = Activities::from_json(&a.to_json()).unwrap();
        assert_eq!(back.created, a.created);
        back.retain_tasks(|t| t != "t1");
        assert_eq!(back.take(arn).map(|t| t.token), Some("t2".to_string()));
        assert_eq!(back.waiting(), 0);
    }

    #[test]
    fn tasks_are_handed_out_oldest_first_once() {
        let mut a = Activities::default();
        a.offer("arn:a", task("t1"));
        a.offer("arn:a", task("t2"));
        a.offer("arn:b", task("t3"));
        assert_eq!(a.waiting(), 3);
        assert_eq!(a.take("arn:a").map(|t| t.token), Some("t1".into()));
        a.withdraw("t2");
        assert_eq!(a.take("arn:a"), None);
        assert_eq!(a.take("arn:b").map(|t| t.token), Some("t3".into()));
        assert_eq!(a.waiting(), 0);
    }
}
