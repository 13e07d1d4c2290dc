//! A state machine of a SAM / CloudFormation template, by logical name: its
//! definition, its DefinitionSubstitutions resolved as far as a local run
//! needs (Parameters' defaults, `!Ref`, `!GetAtt`, `!Sub`, `!Join`), its type.

use asl_core::engine::ExecutionType;
use asl_core::tree::{Node, NodeKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use asl_aws::defaults::REGION;
pub use asl_aws::defaults::ACCOUNT;
pub const STACK: &str = "asl-sim";

/// What a test needs of one state machine resource.
#[derive(Debug)]
pub struct TemplateMachine {
    /// The definition's text (the DefinitionUri file, or the inline Definition as JSON).
    pub text: String,
    /// Where the text came from (for diagnostics).
    pub source: String,
    pub subs: HashMap<String, String>,
    pub execution_type: ExecutionType,
    pub name: String,
}

/// The nearest `template.yaml` (or `.yml`, `.json`) in `dir` or an ancestor.
pub fn find_template(dir: &Path) -> Option<PathBuf> {
    let mut d = Some(dir);
    while let Some(p) = d {
        for name in ["template.yaml", "template.yml", "template.json"] {
            let f = p.join(name);
            if f.is_file() {
                return Some(f);
            }
        }
        d = p.parent();
    }
    None
}

pub fn load(template: &Path, logical_id: &str, params: &HashMap<String, String>) -> Result<TemplateMachine, String> {
    let text = std::fs::read_to_string(template).map_err(|e| format!("cannot read {}: {e}", template.display()))?;
    let root = asl_core::tree::load(&text).map_err(|e| format!("{}:{e}", template.display()))?;
    let t = Template { root: &root, params };
    let resources = root.get("Resources").ok_or_else(|| format!("{} has no Resources", template.display()))?;
    let res = resources.get(logical_id).ok_or_else(|| {
        let machines: Vec<&str> = resources
            .entries()
            .iter()
            .filter(|e| matches!(e.value.get("Type").and_then(Node::as_str), Some("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine")))
            .map(|e| e.key.as_str())
            .collect();
        format!("{} has no resource {logical_id}; its state machines are: {}", template.display(), machines.join(", "))
    })?;
    let ty = res.get("Type").and_then(Node::as_str).unwrap_or("");
    let props = res.get("Properties");
    let prop = |k: &str| props.and_then(|p| p.get(k));
    let dir = template.parent().unwrap_or(Path::new("."));
    let (text, source) = match ty {
        "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
            if let Some(uri) = prop("DefinitionUri").and_then(Node::as_str) {
                let f = dir.join(uri);
                (std::fs::read_to_string(&f).map_err(|e| format!("cannot read {} (DefinitionUri of {logical_id}): {e}", f.display()))?, f.display().to_string())
            } else if let Some(d) = prop("Definition") {
                (serde_json::to_string_pretty(&d.to_value()).unwrap_or_default(), format!("{}#{logical_id}", template.display()))
            } else if let Some(d) = prop("DefinitionString") {
                (t.string(d)?, format!("{}#{logical_id}", template.display()))
            } else {
                return Err(format!("{logical_id} has no DefinitionUri, Definition or DefinitionString (an S3 DefinitionUri cannot be read offline)"));
            }
        }
        other => return Err(format!("{logical_id} is a {other}, not a state machine")),
    };
    let mut subs = HashMap::new();
    if let Some(s) = prop("DefinitionSubstitutions") {
        for e in s.entries() {
            let v = t.string(&e.value).map_err(|m| format!("DefinitionSubstitutions.{} of {logical_id}: {m}", e.key))?;
            subs.insert(e.key.clone(), v);
        }
    }
    let type_field = prop("Type").or_else(|| prop("StateMachineType")).and_then(Node::as_str).unwrap_or("STANDARD");
    let execution_type = if type_field.eq_ignore_ascii_case("EXPRESS") { ExecutionType::Express } else { ExecutionType::Standard };
    let name = prop("Name").or_else(|| prop("StateMachineName")).and_then(Node::as_str).unwrap_or(logical_id).to_string();
    Ok(TemplateMachine { text, source, subs, execution_type, name })
}

struct Template<'a> {
    root: &'a Node,
    params: &'a HashMap<String, String>,
}

fn scalar(n: &Node) -> Option<String> {
    match &n.kind {
        NodeKind::String(s) => Some(s.clone()),
        NodeKind::Number(x) => Some(x.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template<'_> {
    /// The value of an intrinsic-bearing node as a string.
    fn string(&self, n: &Node) -> Result<String, String> {
        let (func, arg): (&str, &Node) = match (&n.tag, &n.kind) {
            (Some(tag), _) => (tag.trim_start_matches('!'), n),
            (None, NodeKind::Object(e)) if e.len() == 1 => (e[0].key.trim_start_matches("Fn::"), &e[0].value),
            (None, NodeKind::Array(items)) => {
                let parts: Result<Vec<String>, String> = items.iter().map(|i| self.string(i)).collect();
                return Ok(parts?.join(","));
            }
            _ => return scalar(n).ok_or_else(|| format!("line {}: cannot resolve this value", n.pos.line)),
        };
        let plain = |x: &Node| Node { pos: x.pos, kind: x.kind.clone(), tag: None };
        match func {
            "Ref" => self.reference(&scalar(&plain(arg)).ok_or("!Ref needs a name")?),
            "GetAtt" => {
                let (res, att) = match &arg.kind {
                    NodeKind::String(s) => s.split_once('.').map(|(a, b)| (a.to_string(), b.to_string())).ok_or("!GetAtt needs Resource.Attribute")?,
                    NodeKind::Array(a) if a.len() == 2 => (self.string(&a[0])?, self.string(&a[1])?),
                    _ => return Err("!GetAtt needs Resource.Attribute".into()),
                };
                self.get_att(&res, &att)
            }
            "Sub" => match &arg.kind {
                NodeKind::String(s) => self.sub(s, &HashMap::new()),
                NodeKind::Array(a) if a.len() == 2 => {
                    let fmt = a[0].as_str().ok_or("!Sub's first item must be a string")?;
                    let mut vars = HashMap::new();
                    for e in a[1].entries() {
                        vars.insert(e.key.clone(), self.string(&e.value)?);
                    }
                    self.sub(fmt, &vars)
                }
                _ => Err("!Sub needs a string or [string, variables]".into()),
            },
            "Join" => match &arg.kind {
                NodeKind::Array(a) if a.len() == 2 => {
                    let delim = scalar(&a[0]).unwrap_or_default();
                    let parts: Result<Vec<String>, String> = a[1].kind_items().iter().map(|i| self.string(i)).collect();
                    Ok(parts?.join(&delim))
                }
                _ => Err("!Join needs [delimiter, [values]]".into()),
            },
            other => Err(format!("line {}: {other} cannot be resolved offline; set this substitution with `substitutions:` in the test file", n.pos.line)),
        }
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        match name {
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::AccountId" => return Ok(ACCOUNT.into()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::StackName" => return Ok(STACK.into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::NoValue" => return Ok(String::new()),
            _ => {}
        }
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if let Some(p) = self.root.get("Parameters").and_then(|p| p.get(name)) {
            return p.get("Default").map(|d| self.string(d)).unwrap_or_else(|| {
                Err(format!("parameter {name} has no Default; give it with `parameters: {{{name}: ...}}` in the test file"))
            });
        }
        let res = self.root.get("Resources").and_then(|r| r.get(name)).ok_or_else(|| format!("!Ref {name}: no such parameter or resource"))?;
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or("");
        let phys = self.physical_name(name, res)?;
        Ok(match ty {
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{phys}"),
            "AWS::SQS::Queue" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{phys}"),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{phys}"),
            _ => phys,
        })
    }

    /// The resource's name: its explicit name property, else its logical id
    /// (lower-cased for S3 buckets, whose names must be).
    fn physical_name(&self, logical: &str, res: &Node) -> Result<String, String> {
        let props = res.get("Properties");
        for k in ["TableName", "BucketName", "Name", "FunctionName", "StateMachineName", "QueueName", "TopicName"] {
            if let Some(v) = props.and_then(|p| p.get(k)) {
                return self.string(v);
            }
        }
        if res.get("Type").and_then(Node::as_str) == Some("AWS::S3::Bucket") {
            return Ok(logical.to_ascii_lowercase());
        }
        Ok(logical.to_string())
    }

    fn get_att(&self, res_name: &str, att: &str) -> Result<String, String> {
        let res = self.root.get("Resources").and_then(|r| r.get(res_name)).ok_or_else(|| format!("!GetAtt {res_name}.{att}: no such resource"))?;
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or("");
        let phys = self.physical_name(res_name, res)?;
        match (ty, att) {
            ("AWS::DynamoDB::Table", "Arn") => Ok(format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{phys}")),
            ("AWS::S3::Bucket", "Arn") => Ok(format!("arn:aws:s3:::{phys}")),
            ("AWS::S3::Bucket", "DomainName") => Ok(format!("{phys}.s3.amazonaws.com")),
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => Ok(format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{phys}")),
            ("AWS::Events::EventBus", "Arn") => Ok(format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{phys}")),
            ("AWS::SQS::Queue", "Arn") => Ok(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{phys}")),
            ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", "Arn") => {
                Ok(format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{phys}"))
            }
            (_, "Name") => Ok(phys),
            (_, "Arn") => Ok(format!("arn:aws:{}:{REGION}:{ACCOUNT}:{phys}", ty.split("::").nth(1).unwrap_or("unknown").to_ascii_lowercase())),
            _ => Err(format!("!GetAtt {res_name}.{att} cannot be resolved offline; set it with `substitutions:`")),
        }
    }

    fn sub(&self, fmt: &str, vars: &HashMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = fmt;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after.find('}').ok_or_else(|| format!("!Sub {fmt:?}: unclosed ${{"))?;
            let name = &after[..j];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(v);
            } else if let Some((r, a)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                out.push_str(&self.get_att(r, a)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

trait Items {
    fn kind_items(&self) -> &[Node];
}

impl Items for Node {
    fn kind_items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Array(a) => a,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_refs_getatt_and_sub() {
        let dir = std::env::temp_dir().join(format!("asl-sim-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.asl.json"), r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#).unwrap();
        std::fs::write(
            dir.join("template.yaml"),
            "Parameters:\n  Quota:\n    Type: Number\n    Default: 10\nResources:\n  Table:\n    Type: AWS::DynamoDB::Table\n  Bus:\n    Type: AWS::Events::EventBus\n    Properties:\n      Name: !Sub \"${AWS::StackName}-bus\"\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Type: EXPRESS\n      DefinitionUri: m.asl.json\n      DefinitionSubstitutions:\n        T: !Ref Table\n        A: !GetAtt Table.Arn\n        Q: !Ref Quota\n        B: !GetAtt Bus.Name\n        S: !Sub \"${Table.Arn}/x/${Quota}\"\n",
        )
        .unwrap();
        let m = load(&dir.join("template.yaml"), "M", &HashMap::new()).unwrap();
        assert_eq!(m.subs["T"], "Table");
        assert_eq!(m.subs["A"], "arn:aws:dynamodb:us-east-1:123456789012:table/Table");
        assert_eq!(m.subs["Q"], "10");
        assert_eq!(m.subs["B"], "asl-sim-bus");
        assert_eq!(m.subs["S"], "arn:aws:dynamodb:us-east-1:123456789012:table/Table/x/10");
        assert_eq!(m.execution_type, ExecutionType::Express);
        let over = HashMap::from([("Quota".to_string(), "5".to_string())]);
        assert_eq!(load(&dir.join("template.yaml"), "M", &over).unwrap().subs["Q"], "5");
        assert!(load(&dir.join("template.yaml"), "Nope", &HashMap::new()).unwrap_err().contains("its state machines are: M"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
