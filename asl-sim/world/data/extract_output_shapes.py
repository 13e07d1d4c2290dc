#!/usr/bin/env python3
"""Writes aws-output-shapes.json: the output shapes of AWS API operations, taken from
botocore's service models (Apache-2.0, the models every AWS SDK is generated from), in
the compact form asl-world's output_schema module reads. TestState checks a mocked
result against them (fieldValidationMode STRICT / PRESENT).

Regenerate (from the repository root):
    python3 -m venv /tmp/bv && /tmp/bv/bin/pip install "botocore==1.44.*"
    /tmp/bv/bin/python asl-sim/world/data/extract_output_shapes.py > asl-sim/world/data/aws-output-shapes.json

Keys are the service names Step Functions' `aws-sdk:SERVICE:action` resources use (the SDK
client names), mapped to botocore's model directories below. Shape encoding: "t" is the type
(s structure, l list, m map, S string, B blob, N number, Z boolean, T timestamp); a structure
has "m" (members in model order: [name, shape]) and "r" (required); a list "i" (item
shape); a map "v" (value shape); scalars may have "e" (enum values), "min", "max".
"""
import glob
import gzip
import json
import os

import botocore

# Step Functions' service name -> botocore's model directory. The services asl-sim emulates,
# then those real workflows call most (ec2 and sagemaker are left out: 0.8 MB between them).
SERVICES = {
    "lambda": "lambda", "sfn": "stepfunctions", "eventbridge": "events", "dynamodb": "dynamodb",
    "s3": "s3", "sqs": "sqs", "sns": "sns", "kms": "kms", "athena": "athena", "batch": "batch",
    "ecs": "ecs", "eks": "eks", "glue": "glue", "bedrockruntime": "bedrock-runtime",
    "comprehend": "comprehend", "rekognition": "rekognition", "textract": "textract",
    "transcribe": "transcribe", "translate": "translate", "secretsmanager": "secretsmanager",
    "ssm": "ssm", "codebuild": "codebuild", "emr": "emr", "sts": "sts", "sesv2": "sesv2",
    "apigateway": "apigateway", "cloudwatch": "cloudwatch", "cloudwatchlogs": "logs", "xray": "xray",
}
SCALARS = {"string": "S", "blob": "B", "integer": "N", "long": "N", "double": "N", "float": "N", "boolean": "Z", "timestamp": "T"}


def load(directory):
    base = os.path.join(os.path.dirname(botocore.__file__), "data", directory)
    path = sorted(glob.glob(os.path.join(base, "*", "service-2.json*")))[-1]
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
        return json.load(f)


def compact(model):
    shapes, out, ops = model["shapes"], {}, {}

    def walk(name):
        if name in out:
            return
        s, c = shapes[name], {}
        out[name] = c
        t = s["type"]
        if t == "structure":
            members = s.get("members", {})
            c["t"], c["m"] = "s", [[m, r["shape"]] for m, r in members.items()]
            if s.get("required"):
                c["r"] = s["required"]
            for r in members.values():
                walk(r["shape"])
        elif t == "list":
            c["t"], c["i"] = "l", s["member"]["shape"]
            walk(c["i"])
        elif t == "map":
            c["t"], c["v"] = "m", s["value"]["shape"]
            walk(c["v"])
        else:
            c["t"] = SCALARS[t]
            if "enum" in s:
                c["e"] = s["enum"]
        for k in ("min", "max"):
            if k in s and t != "structure":
                c[k] = s[k]

    for name, op in model["operations"].items():
        shape = op.get("output", {}).get("shape")
        ops[name] = shape
        if shape:
            walk(shape)
    return {"ops": ops, "shapes": out}


def main():
    print('{"botocore": %s,' % json.dumps(botocore.__version__))
    print(' "services": {')
    names = sorted(SERVICES)
    for i, name in enumerate(names):
        body = json.dumps(compact(load(SERVICES[name])), separators=(",", ":"), sort_keys=False)
        print("  %s: %s%s" % (json.dumps(name), body, "," if i + 1 < len(names) else ""))
    print(" }}")


if __name__ == "__main__":
    main()
