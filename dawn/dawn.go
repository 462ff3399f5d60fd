package dawn

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable marks a machine without Node or without the npm module:
// callers that may go without Dawn branch on it.
var ErrUnavailable = errors.New("dawn: unavailable")

// Kind is how a kernel declares one buffer binding of @group(0).
type Kind string

const (
	Uniform   Kind = "uniform"    // var<uniform>
	Read      Kind = "read"       // var<storage, read>
	ReadWrite Kind = "read_write" // var<storage, read_write>
)

// Binding is one buffer of a kernel, bound at @binding(i) for its index i
// in Kernel.Bindings. The buffer holds max(Size, len(Data)) bytes rounded
// up to 4 (16 for a uniform): Data first, zeros after.
type Binding struct {
	Kind Kind   `json:"kind"`
	Data []byte `json:"data,omitempty"` // initial contents
	Size int    `json:"size,omitempty"` // bytes; 0 means len(Data)
}

// Kernel is one compute shader with entry point main and the single run
// Run gives it.
type Kernel struct {
	Name string `json:"name"`
	WGSL string `json:"wgsl"`
	// Workgroup is the @workgroup_size the source declares, for the
	// record; Dawn checks the source's own against the device limits.
	Workgroup [3]uint32 `json:"workgroup"`
	Bindings  []Binding `json:"bindings"`
	Dispatch  [3]uint32 `json:"dispatch"`
	Outputs   []int     `json:"outputs"` // indices of the bindings read back after the run
}

// Stages of Result.Stage: where a kernel failed.
const (
	StageShader   = "shader"   // Tint's diagnostics from the shader module
	StagePipeline = "pipeline" // compute pipeline with the explicit layout
	StageRun      = "run"      // buffers, dispatch or readback
	StageCrash    = "crash"    // the Node process died or stalled on this kernel
)

// Result is the outcome of one kernel.
type Result struct {
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Stage    string   `json:"stage"` // empty when OK
	Error    string   `json:"error"` // Dawn's or Tint's message
	Warnings []string `json:"warnings"`
	// Outputs holds the contents of the bindings listed in
	// Kernel.Outputs, in that order, each the size of its buffer.
	Outputs [][]byte `json:"outputs"`
}

// Info is what Dawn says about its adapter and the device the kernels run
// on.
type Info struct {
	Adapter struct {
		Vendor       string `json:"vendor"`
		Architecture string `json:"architecture"`
		Device       string `json:"device"`
		Description  string `json:"description"`
		Backend      string `json:"backend"`
		FeatureLevel string `json:"featureLevel"`
	} `json:"adapter"`
	Limits Limits `json:"limits"`
}

// Limits are the device's compute limits, raised to the adapter's maxima.
type Limits struct {
	MaxComputeInvocationsPerWorkgroup int   `json:"maxComputeInvocationsPerWorkgroup"`
	MaxComputeWorkgroupSizeX          int   `json:"maxComputeWorkgroupSizeX"`
	MaxComputeWorkgroupSizeY          int   `json:"maxComputeWorkgroupSizeY"`
	MaxComputeWorkgroupSizeZ          int   `json:"maxComputeWorkgroupSizeZ"`
	MaxComputeWorkgroupStorageSize    int   `json:"maxComputeWorkgroupStorageSize"`
	MaxComputeWorkgroupsPerDimension  int   `json:"maxComputeWorkgroupsPerDimension"`
	MaxStorageBuffersPerShaderStage   int   `json:"maxStorageBuffersPerShaderStage"`
	MaxUniformBuffersPerShaderStage   int   `json:"maxUniformBuffersPerShaderStage"`
	MaxStorageBufferBindingSize       int64 `json:"maxStorageBufferBindingSize"`
	MaxUniformBufferBindingSize       int64 `json:"maxUniformBufferBindingSize"`
	MaxBufferSize                     int64 `json:"maxBufferSize"`
}

// Runner drives check.mjs. The zero value uses the defaults each field
// names.
type Runner struct {
	// Dir holds check.mjs and node_modules; empty means $TUNE_DAWN_DIR,
	// else the folder of this package's source.
	Dir string
	// Node is the node executable; empty means "node" on $PATH.
	Node string
	// Script replaces check.mjs (a path relative to Dir or absolute);
	// tests use it to stand in for Dawn.
	Script string
	// Stall is how long a process may go without reporting a kernel
	// before it is killed and the kernel reported as crashed; 0 means 5
	// minutes.
	Stall time.Duration
}

// Available reports whether the default Runner can run: Node on $PATH and
// the npm module installed. The error wraps ErrUnavailable and says how to
// install what is missing.
func Available() error { return (&Runner{}).Available() }

// Probe starts Dawn with no kernels and returns its adapter and limits.
func Probe() (Info, error) { return (&Runner{}).Probe() }

// Run compiles and runs every kernel once on the default Runner.
func Run(kernels []Kernel) ([]Result, error) { return (&Runner{}).Run(kernels) }

// Compile creates every kernel's shader module and pipeline without
// running it, on the default Runner.
func Compile(kernels []Kernel) ([]Result, error) { return (&Runner{}).Compile(kernels) }

func (r *Runner) dir() string {
	if r.Dir != "" {
		return r.Dir
	}
	if d := os.Getenv("TUNE_DAWN_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "dawn"
	}
	return filepath.Dir(file)
}

func (r *Runner) script() string {
	s := r.Script
	if s == "" {
		s = "check.mjs"
	}
	if filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(r.dir(), s)
}

func (r *Runner) node() (string, error) {
	n := r.Node
	if n == "" {
		n = "node"
	}
	return exec.LookPath(n)
}

// Available reports whether r can run: Node found and, unless Script is
// set, the npm module webgpu installed in Dir.
func (r *Runner) Available() error {
	dir := r.dir()
	if _, err := r.node(); err != nil {
		return fmt.Errorf("%w: no Node.js (%v); install Node 18 or later, then run `cd %s && npm ci`", ErrUnavailable, err, dir)
	}
	if _, err := os.Stat(r.script()); err != nil {
		return fmt.Errorf("%w: %v (TUNE_DAWN_DIR names the folder of check.mjs)", ErrUnavailable, err)
	}
	if r.Script != "" {
		return nil
	}
	mod := filepath.Join(dir, "node_modules", "webgpu", "package.json")
	if _, err := os.Stat(mod); err != nil {
		return fmt.Errorf("%w: the npm module webgpu is not installed in %s; run `cd %s && npm ci`", ErrUnavailable, dir, dir)
	}
	return nil
}

// Probe starts the script with no kernels and returns its adapter and
// limits.
func (r *Runner) Probe() (Info, error) {
	info, _, err := r.start(nil, false)
	return info, err
}

// Run compiles and runs every kernel once and returns one Result per
// kernel, in order. A kernel that fails has OK false and Dawn's message;
// the error is for a Dawn that cannot start at all.
func (r *Runner) Run(kernels []Kernel) ([]Result, error) { return r.all(kernels, false) }

// Compile is Run without the runs: shader module and pipeline only.
func (r *Runner) Compile(kernels []Kernel) ([]Result, error) { return r.all(kernels, true) }

// batchBytes bounds the JSON one process reads: Node holds its input in
// one string, and V8 caps strings at about 512 MiB.
const batchBytes = 32 << 20

func (r *Runner) all(kernels []Kernel, compileOnly bool) ([]Result, error) {
	if err := r.Available(); err != nil {
		return nil, err
	}
	enc := make([]json.RawMessage, len(kernels))
	for i, k := range kernels {
		b, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("dawn: encoding kernel %s: %w", k.Name, err)
		}
		enc[i] = b
	}
	out := make([]Result, 0, len(kernels))
	for len(out) < len(kernels) {
		end, size := len(out), 0
		for end < len(kernels) && (end == len(out) || size+len(enc[end]) <= batchBytes) {
			size += len(enc[end]) + 1
			end++
		}
		_, res, err := r.start(enc[len(out):end], compileOnly)
		out = append(out, res...)
		if err == nil {
			continue
		}
		var c *crash
		if !errors.As(err, &c) {
			return out, err
		}
		if c.lost && len(res) > 0 {
			continue // the device went after its last report: start afresh
		}
		// The process stopped on the next kernel: it is the culprit, and
		// the ones after it get a fresh process.
		k := kernels[len(out)]
		out = append(out, Result{Name: k.Name, Stage: StageCrash, Error: err.Error(), Outputs: [][]byte{}})
	}
	return out, nil
}

// crash is a process that ended or stalled before reporting every kernel.
type crash struct {
	lost bool // the script reported a lost device and exited
	msg  string
}

func (c *crash) Error() string { return c.msg }

// exitLost is check.mjs's exit code after a lost device.
const exitLost = 4

// line is one line of the script's output: the header or a result.
type line struct {
	Info
	Index *int `json:"index"`
	Result
}

// start runs one process over kernels and returns the header and the
// results it reported. An error of type *crash means the process died or
// stalled; the results before it are good.
func (r *Runner) start(kernels []json.RawMessage, compileOnly bool) (Info, []Result, error) {
	node, err := r.node()
	if err != nil {
		return Info{}, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	args := []string{r.script()}
	if compileOnly {
		args = append(args, "--compile-only")
	}
	if kernels == nil {
		args = append(args, "--probe")
	} else {
		args = append(args, "-")
	}
	input, err := json.Marshal(kernels)
	if err != nil {
		return Info{}, nil, fmt.Errorf("dawn: encoding kernels: %w", err)
	}
	if kernels == nil {
		input = nil
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = r.dir()
	cmd.Env = append(os.Environ(), "EGL_PLATFORM=surfaceless")
	cmd.Stdin = bytes.NewReader(input)
	stderr := &tail{max: 4096}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Info{}, nil, fmt.Errorf("dawn: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Info{}, nil, fmt.Errorf("dawn: starting %s: %w", node, err)
	}
	lines := make(chan []byte)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 {
				lines <- b
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	stall := r.Stall
	if stall == 0 {
		stall = 5 * time.Minute
	}
	var (
		info    Info
		header  bool
		results []Result
		stalled bool
		bad     error
	)
	timer := time.NewTimer(stall)
	defer timer.Stop()
read:
	for {
		select {
		case b, ok := <-lines:
			if !ok {
				break read
			}
			if bad != nil {
				continue
			}
			timer.Reset(stall)
			var l line
			if err := json.Unmarshal(b, &l); err != nil {
				bad = fmt.Errorf("dawn: reading %s: %w in %q", filepath.Base(r.script()), err, truncate(string(b), 200))
				cmd.Process.Kill()
				continue
			}
			if !header {
				info, header = l.Info, true
				continue
			}
			if l.Index == nil || *l.Index != len(results) || *l.Index >= len(kernels) {
				bad = fmt.Errorf("dawn: result out of order: %q", truncate(string(b), 200))
				cmd.Process.Kill()
				continue
			}
			res := l.Result
			if res.Outputs == nil {
				res.Outputs = [][]byte{}
			}
			results = append(results, res)
		case <-timer.C:
			stalled = true
			cmd.Process.Kill()
		}
	}
	werr := cmd.Wait()
	if bad != nil {
		return info, results, bad
	}
	if !header {
		return info, nil, fmt.Errorf("dawn: %s reported no adapter: %v: %s", filepath.Base(r.script()), werr, strings.TrimSpace(stderr.String()))
	}
	if len(results) == len(kernels) {
		return info, results, nil
	}
	how := fmt.Sprintf("node %v", werr)
	if stalled {
		how = fmt.Sprintf("node stalled for %v and was killed", stall)
	} else if werr == nil {
		how = "node exited early"
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		how += ": " + s
	}
	var exit *exec.ExitError
	lost := errors.As(werr, &exit) && exit.ExitCode() == exitLost
	return info, results, &crash{lost: lost, msg: how}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// tail keeps the last max bytes written to it, without Dawn's warnings
// about the dynamic-offset limits it lowers on every start.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keep []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if strings.Contains(l, "artificially reduced") {
			continue
		}
		keep = append(keep, l)
	}
	s := strings.Join(keep, "\n")
	if len(s) > t.max {
		s = "..." + s[len(s)-t.max:]
	}
	return s
}

var _ io.Writer = (*tail)(nil)
