// Package profiles owns the tuned-profile file format: one YAML file per GPU
// adapter, checked in as profiles/<adapter-slug>.yaml, holding the winning
// kernel for each op, dtype and shape. Ops are package ops' workloads
// (ops.Workload.Op); a fused GEMV is an op of its own (ops.GemvVariant.Op:
// gemv-norm, gemv-acc, gemv-glu+acc), whose entries never stand in for the
// plain gemv's.
//
// The package:
//  1. defines the types: a [Profile] is an [Adapter] plus [Entry] values,
//     each with the winner's [Stats] and optionally a [Baseline] and [RunnerUp],
//     and [Bucket] values: shape ranges one kernel serves, with the evidence;
//  2. decodes strictly ([Decode], [Load]): unknown keys, a schema other than
//     [SchemaVersion], extra YAML documents and impossible values are errors;
//  3. encodes stably ([Profile.Encode]), so re-tuning gives small diffs, and
//     writes atomically ([Profile.Save]), so a crash never leaves half a file;
//  4. looks things up: [Find] picks the profile for an adapter, falling back
//     to the portable default (a [Profile] marked Portable, chosen across
//     adapters), and [Profile.Lookup] the entry for a shape: exact, else
//     from a [Bucket] whose shape range holds it, else nearest.
package profiles
