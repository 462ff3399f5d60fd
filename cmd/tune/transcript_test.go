package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// transcripts reads the "$ tune ..." examples of the package comment that
// are marked as exact: each command up to the next blank line.
func transcripts(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var cmd string
	var body []string
	flush := func() {
		if cmd != "" {
			out[cmd] = strings.Join(body, "\n") + "\n"
		}
		cmd, body = "", nil
	}
	for _, line := range strings.Split(string(src), "\n") {
		text, ok := strings.CutPrefix(line, "//\t")
		switch {
		case ok && strings.HasPrefix(text, "$ tune "):
			flush()
			cmd = strings.TrimPrefix(text, "$ tune ")
		case ok && cmd != "":
			body = append(body, text)
		case line == "//" && cmd != "" && len(body) > 0 && body[len(body)-1] != "":
			body = append(body, "")
		default:
			flush()
		}
	}
	flush()
	for c, b := range out {
		out[c] = strings.TrimRight(b, "\n") + "\n"
	}
	return out
}

func TestTranscripts(t *testing.T) {
	all := transcripts(t)
	if len(all) < 3 {
		t.Fatalf("found %d transcripts in doc.go", len(all))
	}
	t.Chdir("../..")
	for cmd, want := range all {
		if strings.Contains(want, "...") {
			continue // shortened: machine-dependent timings
		}
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if err := run(context.Background(), &stdout, &stderr, strings.Fields(cmd)); err != nil {
				t.Fatalf("tune %s: %v\n%s", cmd, err, stderr.String())
			}
			if got := stdout.String(); got != want {
				t.Errorf("tune %s printed:\n%s\nwant (from doc.go):\n%s", cmd, got, want)
			}
		})
	}
}
