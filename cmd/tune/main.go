package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand: its flags are parsed by run from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, stdout, stderr io.Writer, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"sweep", "tune kernels on an adapter and write its profile (the default command)", runSweep},
		{"adapters", "list the WebGPU adapters of this machine", runAdapters},
		{"run", "generate text with a Llama model on the GPU", runRun},
		{"eval", "perplexity of a model on a text, to compare weight formats", runEval},
		{"quant", "quantization error of a model's matrices in each format", runQuantErrors},
		{"lookup", "show the kernel a profile chooses for a shape", runLookup},
		{"bench", "re-measure a profile's kernels and the device's roofs", runBench},
		{"report", "compare two results files or profiles; -gate fails on regressions", runReport},
		{"efficiency", "replay search strategies on an exhaustive sweep's journal", runEfficiency},
		{"export", "write a profile's kernels, inputs and checks for a browser", runExport},
		{"serve", "serve an export and the page that runs it on the browser's WebGPU", runServe},
		{"buckets", "merge swept shapes whose winners are within noise; check on held-out shapes", runBuckets},
		{"portable", "pick one kernel per shape for every adapter from their profiles and journals", runPortable},
		{"stability", "rerun one tune and count the reruns that pick the same winner", runStability},
		{"intgemv", "time the integer GEMV (int8 activations) against the f32-dequantizing one", runIntGemv},
	}
}

func main() { os.Exit(tune()) }

func tune() int {
	// The GL backend's probe for a Wayland display prints an error on every
	// adapter enumeration when this is unset; an empty private directory
	// makes the probe fail quietly instead.
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		if dir, err := os.MkdirTemp("", "tune-xdg"); err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
			defer os.Remove(dir)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "tune: %v\n", err)
		}
		return 2
	}
	return 0
}

// run dispatches to a subcommand; with no subcommand name, or flags first,
// it runs sweep.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			usage(stderr)
			return flag.ErrHelp
		}
		return runSweep(ctx, stdout, stderr, args)
	}
	if args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, stdout, stderr, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tune [command] [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tune <command> -h' for a command's flags.")
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tune %s [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}
