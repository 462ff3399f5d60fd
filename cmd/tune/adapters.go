package main

import (
	"context"
	"fmt"
	"io"
	"reflect"

	"github.com/olekukonko/tablewriter"

	"github.com/tune-gpu/tune/runner"
)

func runAdapters(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("adapters", stderr, "List every WebGPU adapter: index, name, vendor and device id, driver, backend, type.")
	verbose := fs.Bool("v", false, "also list each adapter's features and limits")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	infos, err := runner.List()
	if err != nil {
		return err
	}
	t := tablewriter.NewWriter(stdout)
	t.Header("index", "name", "vendor", "device", "driver", "backend", "type")
	for _, a := range infos {
		t.Append(a.Index, a.Name, fmt.Sprintf("0x%04x", a.Vendor), fmt.Sprintf("0x%04x", a.Device), a.Driver, a.Backend, a.Type)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if !*verbose {
		return nil
	}
	for _, a := range infos {
		fmt.Fprintf(stdout, "\nadapter %d: %s (%s)\n  features:", a.Index, a.Name, a.Backend)
		for _, f := range a.Features {
			fmt.Fprintf(stdout, " %s", f)
		}
		fmt.Fprintln(stdout, "\n  limits:")
		v := reflect.ValueOf(a.Limits)
		for i := 0; i < v.NumField(); i++ {
			fmt.Fprintf(stdout, "    %-42s %v\n", v.Type().Field(i).Name, v.Field(i).Interface())
		}
	}
	return nil
}
