//! A state machine of a SAM / CloudFormation template, by logical name: its
//! definition, its DefinitionSubstitutions resolved by the one template resolver
//! (`asl_world::cfn`: Parameters, pseudo parameters, `!Ref`, `!GetAtt`, `!Sub`, ...), its type.

use asl_core::engine::ExecutionType;
use asl_core::tree::Node;
use asl_world::cfn::{Options, Resolver, STATE_MACHINE_TYPES};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    let options = Options {
        parameters: params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        hint: "give it with `parameters:` or the value with `substitutions:` in the test file".into(),
        ..Options::default()
    };
    let t = Resolver::new(&root, options);
    let resources = root.get("Resources").ok_or_else(|| format!("{} has no Resources", template.display()))?;
    let res = resources.get(logical_id).ok_or_else(|| {
        let machines: Vec<&str> = resources
            .entries()
            .iter()
            .filter(|e| e.value.get("Type").and_then(Node::as_str).is_some_and(|ty| STATE_MACHINE_TYPES.contains(&ty)))
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
                (t.resolve_string(d).map_err(|p| p.to_string())?, format!("{}#{logical_id}", template.display()))
            } else {
                return Err(format!("{logical_id} has no DefinitionUri, Definition or DefinitionString (an S3 DefinitionUri cannot be read offline)"));
            }
        }
        other => return Err(format!("{logical_id} is a {other}, not a state machine")),
    };
    let mut subs = HashMap::new();
    if let Some(s) = prop("DefinitionSubstitutions") {
        for e in s.entries() {
            let v = t.resolve_string(&e.value).map_err(|m| format!("DefinitionSubstitutions.{} of {logical_id}: {m}", e.key))?;
            subs.insert(e.key.clone(), v);
        }
    }
    let type_field = prop("Type").or_else(|| prop("StateMachineType")).and_then(Node::as_str).unwrap_or("STANDARD");
    let execution_type = if type_field.eq_ignore_ascii_case("EXPRESS") { ExecutionType::Express } else { ExecutionType::Standard };
    let name = t.physical_name(logical_id, res.pos).map_err(|p| p.to_string())?;
    Ok(TemplateMachine { text, source, subs, execution_type, name })
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
        assert_eq!(m.subs["B"], format!("{}-bus", asl_aws::defaults::STACK_NAME));
        assert_eq!(m.subs["S"], "arn:aws:dynamodb:us-east-1:123456789012:table/Table/x/10");
        assert_eq!(m.execution_type, ExecutionType::Express);
        let over = HashMap::from([("Quota".to_string(), "5".to_string())]);
        assert_eq!(load(&dir.join("template.yaml"), "M", &over).unwrap().subs["Q"], "5");
        assert!(load(&dir.join("template.yaml"), "Nope", &HashMap::new()).unwrap_err().contains("its state machines are: M"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
