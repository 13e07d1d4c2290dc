#!/usr/bin/env python3
"""Offline SAM check for template.yaml: runs the SAM translator (aws-sam-translator from PyPI)
and then checks what cfn-lint cannot see: local CodeUri/DefinitionUri paths exist, every
${Placeholder} in a workflow has a DefinitionSubstitutions entry (and every entry is used), and
every Ref / GetAtt / Sub variable in the translated template names a real resource or parameter.
Usage: AWS_DEFAULT_REGION=eu-west-1 python tests/file-manager/check_template.py [template.yaml]"""
import json, os, re, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

root = os.path.dirname(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
template = yaml_parse(open(path).read())
errors = []

for name, res in template["Resources"].items():
    props = res.get("Properties", {})
    for field in ("CodeUri", "DefinitionUri"):
        uri = props.get(field)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            if not os.path.exists(os.path.join(root, uri)):
                errors.append(f"{name}.{field}: {uri} does not exist")
            elif field == "DefinitionUri":
                used = set(re.findall(r"\$\{(\w+)\}", open(os.path.join(root, uri)).read()))
                given = set(props.get("DefinitionSubstitutions", {}))
                for missing in sorted(used - given):
                    errors.append(f"{name}: {uri} uses ${{{missing}}} but DefinitionSubstitutions lacks it")
                for unused in sorted(given - used):
                    errors.append(f"{name}: DefinitionSubstitutions.{unused} is not used by {uri}")
            if field == "DefinitionUri":
                props[field] = {"Bucket": "bucket", "Key": uri}
            else:
                props[field] = f"s3://bucket/{name}.zip"


class StubPolicyLoader:
    def load(self):
        return {}


out = transform(template, {}, StubPolicyLoader())
known = set(out["Resources"]) | set(out.get("Parameters", {}))
pseudo = {"AWS::AccountId", "AWS::Partition", "AWS::Region", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix", "AWS::NoValue"}


def walk(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str) and v not in known | pseudo:
                errors.append(f"{where}: Ref {v} names nothing")
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else v.split(".")[0]
                if target not in known:
                    errors.append(f"{where}: GetAtt {target} names nothing")
            elif k == "Fn::Sub":
                text, variables = (v, {}) if isinstance(v, str) else (v[0], v[1])
                for var in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    base = var.split(".")[0]
                    if base not in known | pseudo and base not in variables:
                        errors.append(f"{where}: Sub variable {var} names nothing")
            walk(v, where)
    elif isinstance(node, list):
        for item in node:
            walk(item, where)


for name, res in out["Resources"].items():
    walk(res, name)
walk(out.get("Outputs", {}), "Outputs")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"SAM translation OK: {len(out['Resources'])} resources")
print(json.dumps(sorted(f"{n} {r['Type']}" for n, r in out["Resources"].items()), indent=1))
