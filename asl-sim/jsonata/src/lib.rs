//! JSONata 2.0.6, as AWS Step Functions runs it: parser, evaluator and standard library. No I/O.
