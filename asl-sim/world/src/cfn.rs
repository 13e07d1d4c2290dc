//! The one CloudFormation resolver: a template's Parameters, pseudo parameters, the
//! physical ids and attributes of its resources, and the intrinsic functions (`!Ref`,
//! `!Sub`, `!GetAtt`, `!Join`, `!Select`, `!Split`, short and `Fn::` long forms) resolved
//! to plain values, each failure with the line:column it comes from.
//!
//! Every driver reads templates through this module: `serve` (the resources it creates,
//! `template.rs`), `test` (a state machine's DefinitionSubstitutions) and `simulate` (the
//! services a scenario starts from). They differ only in [`Options`]: the stack name, the
//! given parameters, and how resources without an explicit name are named.

use asl_aws::defaults::{ACCOUNT, PARTITION, REGION};
use asl_core::tree::{Node, NodeKind, Pos};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// A template problem with its position: the same shape (and `pos: message` text) as a
/// document that cannot be read at all, so one type serves both.
pub use asl_core::tree::LoadError as Problem;

pub type R<T> = Result<T, Problem>;

pub fn err<T>(pos: Pos, message: impl Into<String>) -> R<T> {
    Err(Problem { pos, message: message.into() })
}

/// How a resource without an explicit name property (`BucketName`, `TableName`, ...) is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// As a deployed stack names it, `STACK-Logical` (S3 buckets lower-cased), so two
    /// stacks served side by side do not collide (`serve`).
    Stack,
    /// By its logical id (S3 buckets lower-cased), so test fixtures and scenarios can
    /// name tables and buses as the template does (`test`, `simulate`).
    Logical,
}

/// What a driver decides about a template; everything else is the template's.
#[derive(Debug, Clone)]
pub struct Options {
    /// `AWS::StackName`.
    pub stack_name: String,
    pub naming: Naming,
    /// Parameter values given by the user; they win over the template's Defaults.
    pub parameters: BTreeMap<String, String>,
    /// Values of parameters that have neither a given value nor a Default.
    pub fallback_parameters: BTreeMap<String, String>,
    /// Physical names by logical id, overriding [`Naming`].
    pub names: HashMap<String, String>,
    /// `ApiEndpoint` of HTTP APIs.
    pub api_endpoint: String,
    /// How the user gives a value the template lacks, appended to such errors
    /// (e.g. "pass --parameter NAME=VALUE").
    pub hint: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stack_name: asl_aws::defaults::STACK_NAME.to_string(),
            naming: Naming::Logical,
            parameters: BTreeMap::new(),
            fallback_parameters: BTreeMap::new(),
            names: HashMap::new(),
            api_endpoint: "http://127.0.0.1".to_string(),
            hint: String::new(),
        }
    }
}

/// A resource of the template, unresolved.
pub struct Resource<'a> {
    pub ty: String,
    pub node: &'a Node,
    pub props: Option<&'a Node>,
}

pub const STATE_MACHINE_TYPES: [&str; 2] = ["AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"];

/// A template's values, resolved on demand (and each resource's id once).
pub struct Resolver<'a> {
    pub options: Options,
    pub root: &'a Node,
    /// Parameters with a value (a list for `CommaDelimitedList` / `List<Number>`).
    pub params: BTreeMap<String, Value>,
    /// Parameters declared without Default and given no value: an error where used.
    pub missing_params: BTreeMap<String, Pos>,
    pub resources: BTreeMap<String, Resource<'a>>,
    ids: RefCell<HashMap<String, String>>,
    resolving: RefCell<Vec<String>>,
}

/// A resolved value as the string CloudFormation substitutes: lists joined with commas.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn stack_name_of(stack: &str, logical: &str) -> String {
    let mut s: String = format!("{stack}-{logical}").to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    s.truncate(63);
    s
}

/// The property that names a resource of type `ty`.
fn name_properties(ty: &str) -> &'static [&'static str] {
    match ty {
        "AWS::S3::Bucket" => &["BucketName"],
        "AWS::DynamoDB::Table" => &["TableName"],
        "AWS::Events::EventBus" | "AWS::Events::Rule" | "AWS::Events::Connection" => &["Name"],
        "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => &["Name", "StateMachineName"],
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => &["FunctionName"],
        "AWS::IAM::Role" => &["RoleName"],
        "AWS::SQS::Queue" => &["QueueName"],
        "AWS::SNS::Topic" => &["TopicName"],
        _ => &[],
    }
}

impl<'a> Resolver<'a> {
    /// Reads the Parameters and Resources of a template document.
    pub fn new(root: &'a Node, options: Options) -> Resolver<'a> {
        let mut params = BTreeMap::new();
        let mut missing_params = BTreeMap::new();
        for p in root.get("Parameters").map(Node::entries).unwrap_or(&[]) {
            let ty = p.value.get("Type").and_then(Node::as_str).unwrap_or("String");
            let default = p.value.get("Default").map(|d| match d.to_value() {
                Value::String(s) => s,
                Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(","),
                v => v.to_string(),
            });
            let given = options.parameters.get(&p.key).cloned();
            let Some(raw) = given.or(default).or_else(|| options.fallback_parameters.get(&p.key).cloned()) else {
                missing_params.insert(p.key.clone(), p.key_pos);
                continue;
            };
            let v = match ty {
                "CommaDelimitedList" | "List<Number>" => json!(raw.split(',').map(str::trim).collect::<Vec<_>>()),
                _ => Value::String(raw),
            };
            params.insert(p.key.clone(), v);
        }
        let mut resources = BTreeMap::new();
        for r in root.get("Resources").map(Node::entries).unwrap_or(&[]) {
            let ty = r.value.get("Type").and_then(Node::as_str).unwrap_or("").to_string();
            resources.insert(r.key.clone(), Resource { ty, node: &r.value, props: r.value.get("Properties") });
        }
        Resolver { options, root, params, missing_params, resources, ids: RefCell::new(HashMap::new()), resolving: RefCell::new(Vec::new()) }
    }

    fn hint(&self) -> String {
        if self.options.hint.is_empty() {
            String::new()
        } else {
            format!("; {}", self.options.hint)
        }
    }

    pub fn stack_name(&self) -> &str {
        &self.options.stack_name
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        let stack = &self.options.stack_name;
        Some(match name {
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Partition" => PARTITION.into(),
            "AWS::StackName" => stack.clone(),
            "AWS::StackId" => format!("arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/00000000-0000-0000-0000-000000000000"),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            // A property set to AWS::NoValue is as good as absent; as text it is empty.
            "AWS::NoValue" => String::new(),
            _ => return None,
        })
    }

    /// A resource property, resolved.
    pub fn prop(&self, r: &Resource<'_>, key: &str) -> R<Option<Value>> {
        match r.props.and_then(|p| p.get(key)) {
            Some(n) => self.resolve(n).map(Some),
            None => Ok(None),
        }
    }

    /// The resource's name: its name property, an override, or the [`Naming`] rule.
    pub fn physical_name(&self, logical: &str, pos: Pos) -> R<String> {
        if let Some(n) = self.options.names.get(logical) {
            return Ok(n.clone());
        }
        let Some(r) = self.resources.get(logical) else {
            return err(pos, format!("{logical}: no such resource"));
        };
        for k in name_properties(&r.ty) {
            if let Some(v) = self.prop(r, k)? {
                return Ok(scalar(&v));
            }
        }
        let stack = &self.options.stack_name;
        // A FIFO queue or topic CloudFormation names gets the `.fifo` suffix SQS and SNS require.
        let fifo = [("AWS::SQS::Queue", "FifoQueue"), ("AWS::SNS::Topic", "FifoTopic")]
            .iter()
            .any(|(ty, k)| r.ty == *ty && self.prop(r, k).ok().flatten().is_some_and(|v| scalar(&v) == "true"));
        if fifo {
            let base = match self.options.naming {
                Naming::Stack => format!("{stack}-{logical}"),
                Naming::Logical => logical.to_string(),
            };
            return Ok(format!("{base}.fifo"));
        }
        Ok(match (self.options.naming, r.ty.as_str()) {
            (_, "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" | "AWS::Serverless::Function" | "AWS::Lambda::Function") => logical.to_string(),
            (_, "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi") => "local".to_string(),
            (Naming::Stack, "AWS::S3::Bucket") => stack_name_of(stack, logical),
            (Naming::Stack, _) => format!("{stack}-{logical}"),
            (Naming::Logical, "AWS::S3::Bucket") => logical.to_ascii_lowercase(),
            (Naming::Logical, _) => logical.to_string(),
        })
    }

    /// What `!Ref` of a resource gives (its physical id), computed once per resource.
    pub fn physical_id(&self, logical: &str, pos: Pos) -> R<String> {
        if let Some(id) = self.ids.borrow().get(logical) {
            return Ok(id.clone());
        }
        let Some(r) = self.resources.get(logical) else {
            return err(pos, format!("!Ref {logical}: no such parameter or resource"));
        };
        if self.resolving.borrow().iter().any(|l| l == logical) {
            return err(pos, format!("circular reference through {logical}"));
        }
        self.resolving.borrow_mut().push(logical.to_string());
        let id = self.physical_name(logical, pos).map(|name| match r.ty.as_str() {
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => asl_aws::arn::state_machine(REGION, ACCOUNT, &name),
            "AWS::SQS::Queue" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"),
            "AWS::SNS::Topic" => asl_aws::arn::arn("sns", REGION, ACCOUNT, &name),
            _ => name,
        });
        self.resolving.borrow_mut().pop();
        let id = id?;
        self.ids.borrow_mut().insert(logical.to_string(), id.clone());
        Ok(id)
    }

    pub fn get_att(&self, logical: &str, attr: &str, pos: Pos) -> R<Value> {
        let Some(r) = self.resources.get(logical) else { return err(pos, format!("!GetAtt {logical}.{attr}: no such resource")) };
        let id = self.physical_id(logical, pos)?;
        let name = || self.physical_name(logical, pos);
        let v = match (r.ty.as_str(), attr) {
            ("AWS::S3::Bucket", "Arn") => asl_aws::arn::s3_bucket(&id),
            ("AWS::S3::Bucket", "DomainName") => format!("{id}.s3.amazonaws.com"),
            ("AWS::S3::Bucket", "RegionalDomainName") => format!("{id}.s3.{REGION}.amazonaws.com"),
            ("AWS::DynamoDB::Table", "Arn") => asl_aws::arn::dynamodb_table(REGION, ACCOUNT, &id),
            ("AWS::Events::EventBus", "Arn") => asl_aws::arn::event_bus(REGION, ACCOUNT, &id),
            ("AWS::Events::Rule", "Arn") => asl_aws::arn::arn("events", REGION, ACCOUNT, &format!("rule/{id}")),
            ("AWS::Events::Connection", "Arn") => asl_http_task::connection::connection_arn(REGION, ACCOUNT, &name()?),
            ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", "Arn") => id,
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => asl_aws::arn::lambda_function(REGION, ACCOUNT, &id),
            ("AWS::IAM::Role", "Arn") => format!("arn:{PARTITION}:iam::{ACCOUNT}:role/{id}"),
            ("AWS::IAM::Role", "RoleId") => format!("AROA{}", id.len()),
            ("AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi", "ApiEndpoint") => self.options.api_endpoint.clone(),
            ("AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi", "ApiId") => id,
            ("AWS::SQS::Queue", "Arn") => asl_aws::arn::arn("sqs", REGION, ACCOUNT, &name()?),
            ("AWS::SQS::Queue", "QueueUrl") => id,
            ("AWS::SNS::Topic", "TopicArn") => id,
            (_, "Name" | "QueueName" | "TopicName") => name()?,
            (ty, "Arn") if ty.starts_with("AWS::") => {
                let service = ty.split("::").nth(1).unwrap_or("unknown").to_ascii_lowercase();
                asl_aws::arn::arn(&service, REGION, ACCOUNT, &name()?)
            }
            (ty, _) => return err(pos, format!("!GetAtt {logical}.{attr}: attribute {attr} of {ty} is not supported offline{}", self.hint())),
        };
        Ok(Value::String(v))
    }

    pub fn reference(&self, name: &str, pos: Pos) -> R<Value> {
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if self.missing_params.contains_key(name) {
            return err(pos, format!("parameter {name} has no Default and no value was given{}", self.hint()));
        }
        if let Some(p) = self.pseudo(name) {
            return Ok(Value::String(p));
        }
        if name.starts_with("AWS::") {
            return err(pos, format!("pseudo parameter {name} is not supported"));
        }
        self.physical_id(name, pos).map(Value::String)
    }

    fn sub(&self, template: &str, vars: &Map<String, Value>, pos: Pos) -> R<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                // `${!Literal}` is the literal `${Literal}`.
                out.push_str("${");
                rest = lit;
                continue;
            }
            let Some(end) = after.find('}') else { return err(pos, "!Sub: unterminated ${") };
            let name = after[..end].trim();
            let v = if let Some(v) = vars.get(name) {
                scalar(v)
            } else if let Some((res, attr)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                scalar(&self.get_att(res, attr, pos)?)
            } else {
                scalar(&self.reference(name, pos)?)
            };
            out.push_str(&v);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn function(&self, name: &str, arg: &Node, pos: Pos) -> R<Value> {
        match name {
            "Ref" => {
                let Some(n) = arg.as_str() else { return err(pos, "!Ref takes a name") };
                self.reference(n, pos)
            }
            "Sub" => match &arg.kind {
                NodeKind::String(s) => Ok(Value::String(self.sub(s, &Map::new(), pos)?)),
                NodeKind::Array(a) if a.len() == 2 => {
                    let Some(s) = a[0].as_str() else { return err(pos, "!Sub: the first element must be a string") };
                    let vars = match self.resolve(&a[1])? {
                        Value::Object(m) => m,
                        _ => return err(a[1].pos, "!Sub: the second element must be a map"),
                    };
                    Ok(Value::String(self.sub(s, &vars, pos)?))
                }
                _ => err(pos, "!Sub takes a string or [string, map]"),
            },
            "GetAtt" => {
                let (res, attr) = match &arg.kind {
                    NodeKind::String(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => return err(pos, "!GetAtt takes Resource.Attribute"),
                    },
                    NodeKind::Array(a) if a.len() == 2 => (scalar(&self.resolve(&a[0])?), scalar(&self.resolve(&a[1])?)),
                    _ => return err(pos, "!GetAtt takes Resource.Attribute or [Resource, Attribute]"),
                };
                self.get_att(&res, &attr, pos)
            }
            "Join" => {
                let v = self.resolve(arg)?;
                let (Some(sep), Some(items)) = (v.get(0).and_then(Value::as_str), v.get(1).and_then(Value::as_array)) else {
                    return err(pos, "!Join takes [separator, list]");
                };
                Ok(Value::String(items.iter().map(scalar).collect::<Vec<_>>().join(sep)))
            }
            "Select" => {
                let v = self.resolve(arg)?;
                let i = v.get(0).and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())));
                match (i, v.get(1).and_then(Value::as_array)) {
                    (Some(i), Some(items)) if (i as usize) < items.len() => Ok(items[i as usize].clone()),
                    _ => err(pos, "!Select takes [index, list] with the index in range"),
                }
            }
            "Split" => {
                let v = self.resolve(arg)?;
                match (v.get(0).and_then(Value::as_str), v.get(1).and_then(Value::as_str)) {
                    (Some(sep), Some(s)) => Ok(json!(s.split(sep).collect::<Vec<_>>())),
                    _ => err(pos, "!Split takes [separator, string]"),
                }
            }
            other => err(pos, format!("intrinsic function Fn::{other} is not supported offline{}", self.hint())),
        }
    }

    /// Resolves intrinsic functions to a plain value.
    pub fn resolve(&self, n: &Node) -> R<Value> {
        if let Some(tag) = &n.tag {
            let name = tag.trim_start_matches('!');
            // The argument is the node itself, without its tag.
            let mut arg = n.clone();
            arg.tag = None;
            return self.function(name, &arg, n.pos);
        }
        match &n.kind {
            NodeKind::Object(entries) if entries.len() == 1 && (entries[0].key == "Ref" || entries[0].key.starts_with("Fn::")) => {
                let name = entries[0].key.trim_start_matches("Fn::");
                self.function(name, &entries[0].value, entries[0].key_pos)
            }
            NodeKind::Object(entries) => {
                let mut m = Map::new();
                for e in entries {
                    m.insert(e.key.clone(), self.resolve(&e.value)?);
                }
                Ok(Value::Object(m))
            }
            NodeKind::Array(items) => items.iter().map(|i| self.resolve(i)).collect::<R<Vec<_>>>().map(Value::Array),
            _ => Ok(n.to_value()),
        }
    }

    /// A node resolved to the string CloudFormation would substitute.
    pub fn resolve_string(&self, n: &Node) -> R<String> {
        self.resolve(n).map(|v| scalar(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Quota: {Type: Number, Default: 10}
  Required: {Type: String}
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Files: {Type: AWS::S3::Bucket}
  Named: {Type: AWS::S3::Bucket, Properties: {BucketName: !Sub "${AWS::StackName}-named"}}
  Queue: {Type: AWS::SQS::Queue}
  Machine: {Type: AWS::Serverless::StateMachine, Properties: {Name: !Sub "m-${Quota}"}}
"#;

    fn resolve(text: &str, options: Options) -> Result<Value, Problem> {
        let root = asl_core::tree::load(TEMPLATE).unwrap();
        let r = Resolver::new(&root, options);
        let node = asl_core::tree::load(text).unwrap();
        r.resolve(&node)
    }

    #[test]
    fn names_by_logical_id_or_by_stack() {
        let logical = Options { stack_name: "s".into(), ..Options::default() };
        let stack = Options { naming: Naming::Stack, ..logical.clone() };
        let refs = "x: [!Ref Table, !Ref Files, !Ref Named, !GetAtt Table.Arn, !Ref Machine, !Ref Queue, !GetAtt Queue.Arn]";
        assert_eq!(
            resolve(refs, logical).unwrap()["x"],
            json!(["Table", "files", "s-named", "arn:aws:dynamodb:us-east-1:123456789012:table/Table",
                   "arn:aws:states:us-east-1:123456789012:stateMachine:m-10",
                   "https://sqs.us-east-1.amazonaws.com/123456789012/Queue", "arn:aws:sqs:us-east-1:123456789012:Queue"])
        );
        assert_eq!(resolve("x: [!Ref Table, !Ref Files]", stack).unwrap()["x"], json!(["s-Table", "s-files"]));
    }

    #[test]
    fn parameters_given_default_and_missing() {
        let given = Options { parameters: [("Quota".to_string(), "5".to_string())].into(), ..Options::default() };
        assert_eq!(resolve("!Sub '${Quota}/${AWS::Region}'", given).unwrap(), json!("5/us-east-1"));
        let hinted = Options { hint: "pass --parameter NAME=VALUE".into(), ..Options::default() };
        let e = resolve("\n!Ref Required", hinted).unwrap_err();
        assert_eq!(e.to_string(), "2:1: parameter Required has no Default and no value was given; pass --parameter NAME=VALUE");
        let overridden = Options { names: [("Table".to_string(), "inventory".to_string())].into(), ..Options::default() };
        assert_eq!(resolve("!GetAtt Table.Arn", overridden).unwrap(), json!("arn:aws:dynamodb:us-east-1:123456789012:table/inventory"));
    }

    #[test]
    fn unsupported_functions_and_attributes_say_where() {
        let e = resolve("a: 1\nb: !ImportValue x", Options::default()).unwrap_err();
        assert_eq!(e.to_string(), "2:4: intrinsic function Fn::ImportValue is not supported offline");
        let e = resolve("!GetAtt Table.StreamArn", Options::default()).unwrap_err();
        assert!(e.message.contains("attribute StreamArn of AWS::DynamoDB::Table"), "{e}");
        assert!(resolve("!Ref Nope", Options::default()).unwrap_err().message.contains("no such parameter or resource"));
    }
}
