// Package search owns the tuning loop: where candidates come from and where
// their results go.
//
//  1. A Space declares axes of values; every combination is a Point with a
//     stable ID ("wgx=16/wgy=8/..."), and Constraints drop illegal points
//     (device limits, divisibility) before any device time is spent.
//  2. A Method proposes legal points in order: Exhaustive, Random, Local
//     (hill climbing), Anneal, Evolve, or Bayes (a Gaussian process with
//     expected improvement, every third step the best-rated neighbour of
//     the best points so far; with a budget, a quarter in the slice through
//     the best point along the space's Core axes, then a quarter climbing).
//  3. Run hands each point to an Evaluator, which validates and measures it
//     on the device, unless the Journal already holds its result.
//  4. Every new result is appended to the Journal as soon as it exists, so a
//     killed sweep loses nothing and a rerun resumes without re-measuring.
//  5. A Recorder sees every result as it arrives, for progress display.
//  6. Finals re-time the best results paired, round by round, for the
//     winner; an incumbent (the profile's winner for the shape) stays
//     unless a finalist beats it in so many of five to nine rounds that
//     a sign test rejects a tie.
//
// After runs over several shapes of an op, Buckets merges neighbouring
// shapes whose winners are within noise of each other (WithinNoise); across
// adapters, Portable ranks the candidates every adapter measured by their
// worst-case and mean fraction of each adapter's best; Agreement judges
// reruns of one tune against their re-timed overall winner.
//
// Run stops when the method is exhausted, the evaluation budget or the wall
// time budget is spent, or the context is cancelled; Summary.Status says
// which.
package search
