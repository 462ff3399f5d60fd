// Package reports owns what the tuner writes for people and other tools:
// results files in the Go benchmark format (benchstat reads them
// unchanged), and the tables that end a sweep.
//
// Results are written as one benchmark line per timed pass, so a file keeps
// every sample rather than a summary: the name is the task and the
// candidate ID, the iteration count is the dispatches per pass, and the
// values are sec/op and the rate (FLOP/s), declared better=higher.
package reports
