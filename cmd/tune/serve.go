package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tune-gpu/tune/web"
)

func runServe(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("serve", stderr, `Serve the page that runs an export (tune export) on the browser's WebGPU:
each kernel is checked against the CPU reference values and timed, beside
the profile's native rates. Open the printed address in a browser with
WebGPU; stop with Ctrl-C.`)
	dir := fs.String("export", "", "folder written by tune export (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("serve: -export is required")
	}
	m, err := web.LoadManifest(*dir)
	if err != nil {
		return fmt.Errorf("parsing -export: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("parsing -addr: %w", err)
	}
	srv := &http.Server{Handler: web.Handler(*dir), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving %d kernels of %s (%s) at http://%s/\n", len(m.Kernels), m.Profile, m.Adapter.Name, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
