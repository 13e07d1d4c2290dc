//! Activities: tasks that wait for a worker (`GetActivityTask`), as AWS's
//! "Learn about Activities in Step Functions" describes
//! (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html).
//!
//! The World only keeps what workers can take: the activities created (by the
//! API or the template) and, per activity ARN, the tasks scheduled and not yet
//! handed to a worker, oldest first. The execution that scheduled a task keeps
//! waiting on its token; answers come back through SendTask* to the execution.

use serde_json::Value;
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
