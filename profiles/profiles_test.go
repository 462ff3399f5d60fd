package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// valid is a hand-written profile; the failure cases below are edits of it.
const valid = `schema: 1
adapter:
  name: NVIDIA H100 80GB HBM3
  vendor: 4318
  device: 9009
  driver: "550.54"
  backend: vulkan
  type: discrete
created: 2025-01-02T03:04:05Z
entries:
  - op: matmul
    dtype: f32
    shape: [512, 512, 512]
    kernel: matmul
    id: t64x64-w16x16
    params: {tile: 64x64, wg: 16x16}
    stats: {median_s: 0.001, ci_lo_s: 0.0009, ci_hi_s: 0.0011, samples: 20, rate: 2.7e11, unit: FLOP/s, clock: timestamp}
    runner_up:
      id: t32x32-w8x8
      stats: {median_s: 0.0012, ci_lo_s: 0.0011, ci_hi_s: 0.0013, samples: 20, rate: 2.2e11, unit: FLOP/s, clock: timestamp}
      margin: 0.2
      separated: true
`

var h100 = Adapter{Name: "NVIDIA H100 80GB HBM3", Vendor: 0x10de, Device: 0x2331, Driver: "550.54", Backend: "vulkan", Type: "discrete"}

func stats(median float64) Stats {
	return Stats{Median: median, Lo: median * 0.9, Hi: median * 1.1, Samples: 20, Rate: 1 / median, Unit: "FLOP/s", Clock: "timestamp"}
}

func entry(op, dtype, id string, shape ...int) Entry {
	return Entry{Op: op, Dtype: dtype, Shape: shape, Kernel: op, ID: id, Params: map[string]string{"tile": "64x64"}, Stats: stats(1e-3)}
}

// sample returns a profile whose entries are deliberately out of order.
func sample() *Profile {
	p := &Profile{Schema: SchemaVersion, Adapter: h100, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Tool: "tune sweep -op matmul"}
	p.Put(entry("softmax", "f32", "s", 4096, 128))
	big := entry("matmul", "f32", "big", 4096, 4096, 4096)
	big.Baseline = &Baseline{Kernel: "matmul-naive", Stats: stats(0.5)}
	big.RunnerUp = &RunnerUp{ID: "other", Stats: stats(2e-3), Margin: 1, Separated: true}
	p.Put(big)
	p.Put(entry("matmul", "f32", "small", 512, 512, 512))
	p.Put(entry("matmul", "f16", "half", 512, 512, 512))
	return p
}

// equal reports whether two profiles hold the same data, ignoring entry
// order, time zone representation and nil versus empty.
func equal(a, b *Profile) bool {
	norm := func(p *Profile) Profile {
		q := *p
		q.Created = time.Time{}
		q.Entries = slices.Clone(p.Entries)
		slices.SortFunc(q.Entries, compareEntries)
		for i := range q.Entries {
			if len(q.Entries[i].Params) == 0 {
				q.Entries[i].Params = nil
			}
			if len(q.Entries[i].Portable) == 0 {
				q.Entries[i].Portable = nil
			}
		}
		if len(q.Entries) == 0 {
			q.Entries = nil
		}
		q.Buckets = slices.Clone(p.Buckets)
		slices.SortFunc(q.Buckets, compareBuckets)
		for i := range q.Buckets {
			b := &q.Buckets[i]
			if len(b.Params) == 0 {
				b.Params = nil
			}
			if len(b.Holdout) == 0 {
				b.Holdout = nil
			}
		}
		if len(q.Buckets) == 0 {
			q.Buckets = nil
		}
		return q
	}
	return a.Created.Equal(b.Created) && reflect.DeepEqual(norm(a), norm(b))
}

func encode(t testing.TB, p *Profile) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3"},
		{"llvmpipe (LLVM 15.0.6, 256 bits)", "llvmpipe-llvm-15-0-6-256-bits"},
		{"  AMD Radeon RX 7900 XTX (RADV NAVI31)  ", "amd-radeon-rx-7900-xtx-radv-navi31"},
		{"Intel(R) Arc(TM) A770", "intel-r-arc-tm-a770"},
		{"Ünïcode GPU", "n-code-gpu"},
		{"", "unknown-adapter"},
		{"()--", "unknown-adapter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Adapter{Name: tc.name}).Slug(); got != tc.want {
				t.Errorf("Slug() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	p := sample()
	b := encode(t, p)
	q, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, b)
	}
	if !equal(p, q) {
		t.Errorf("round trip changed the profile:\n got %+v\nwant %+v", q, p)
	}
	if b2 := encode(t, q); !bytes.Equal(b, b2) {
		t.Errorf("re-encoding changed the bytes:\n%s\n---\n%s", b, b2)
	}
	var ids []string
	for _, e := range q.Entries {
		ids = append(ids, e.ID)
	}
	if want := []string{"half", "small", "big", "s"}; !slices.Equal(ids, want) {
		t.Errorf("encoded order %v, want %v", ids, want)
	}
	if p.Entries[0].ID != "s" {
		t.Errorf("Encode reordered the caller's entries")
	}
	if !bytes.Contains(b, []byte("\nentries:\n  - op: matmul\n    dtype: f16\n    shape: [512, 512, 512]\n")) {
		t.Errorf("want 2-space indent and flow shapes, got:\n%s", b)
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", h100.Slug()+".yaml")
	p := sample()
	for range 2 { // the second Save replaces the first
		if err := p.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(p, q) {
		t.Errorf("Load(Save(p)) = %+v, want %+v", q, p)
	}
	assertFiles(t, filepath.Dir(path), filepath.Base(path))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("Stat = %v, %v; want mode 0644", fi, err)
	}
}

// assertFiles checks that dir holds exactly the named entries, so no temp
// file was left behind.
func assertFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func TestSaveFailure(t *testing.T) {
	bad := sample()
	bad.Entries[1].Stats.Median = -1
	for _, tc := range []struct {
		name string
		p    *Profile
		// setup prepares dir and returns the path to save to.
		setup func(t *testing.T, dir string) string
		want  string
	}{
		{"invalid profile keeps old file", bad, func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "p.yaml")
			if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, "median_s is -1"},
		{"parent is a regular file", sample(), func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(valid), 0o644); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "p.yaml", "sub", "x.yaml")
		}, "not a directory"},
		{"target is a directory", sample(), func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "p.yaml")
			if err := os.MkdirAll(filepath.Join(path, "keep"), 0o755); err != nil {
				t.Fatal(err)
			}
			return path
		}, "rename"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			err := tc.p.Save(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Save error = %v, want one containing %q", err, tc.want)
			}
			assertFiles(t, dir, "p.yaml")
			if b, err := os.ReadFile(filepath.Join(dir, "p.yaml")); err == nil && string(b) != valid {
				t.Errorf("Save changed the existing file")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	edit := func(old, new string) string {
		t.Helper()
		if !strings.Contains(valid, old) {
			t.Fatalf("valid does not contain %q", old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	cut := func(after string) string {
		t.Helper()
		i := strings.Index(valid, after)
		if i < 0 {
			t.Fatalf("valid does not contain %q", after)
		}
		return valid[:i+len(after)]
	}
	for _, tc := range []struct {
		name, in, want string
		is             error
	}{
		{"empty", "", "empty file", nil},
		{"truncated in shape", cut("[512, 5"), "did not find expected ',' or ']'", nil},
		{"truncated in key", cut("    st"), "could not find expected ':'", nil},
		{"truncated in entry", cut("  - op: matmul\n"), "entry 0: missing dtype", nil},
		{"truncated before stats", cut("wg: 16x16}\n"), "entry 0: stats.median_s is 0", nil},
		{"not a mapping", "- schema: 1\n", "cannot unmarshal", nil},
		{"yaml.v3 panics", "{{},<<}", "malformed YAML", nil},
		{"unknown top-level field", valid + "colour: red\n", "field colour not found in type profiles.Profile", nil},
		{"unknown entry field", edit("    kernel:", "    colour: red\n    kernel:"), "field colour not found in type profiles.Entry", nil},
		{"unknown stats field", edit("samples: 20, rate: 2.7e11", "samples: 20, mean: 1, rate: 2.7e11"), "field mean not found in type profiles.Stats", nil},
		{"duplicate key", edit("    kernel:", "    id: x\n    kernel:"), `mapping key "id" already defined`, nil},
		{"wrong schema", edit("schema: 1", "schema: 2"), "schema 2", ErrSchema},
		{"missing schema", edit("schema: 1\n", ""), "schema missing", ErrSchema},
		{"second document", valid + "---\n" + valid, "more than one YAML document", nil},
		{"negative median", edit("median_s: 0.001", "median_s: -0.001"), "entry 0: stats.median_s is -0.001", nil},
		{"NaN ci", edit("ci_hi_s: 0.0011", "ci_hi_s: .nan"), "entry 0: stats.ci_hi_s is NaN", nil},
		{"infinite rate", edit("rate: 2.7e11", "rate: .inf"), "entry 0: stats.rate is +Inf", nil},
		{"no samples", edit("samples: 20", "samples: 0"), "entry 0: stats.samples is 0", nil},
		{"negative runner-up stats", edit("median_s: 0.0012", "median_s: -1"), "entry 0: runner_up.stats.median_s is -1", nil},
		{"NaN margin", edit("margin: 0.2", "margin: .nan"), "entry 0: runner_up.margin is NaN", nil},
		{"empty shape", edit("[512, 512, 512]", "[]"), "entry 0: missing shape", nil},
		{"zero dim", edit("[512, 512, 512]", "[512, 0, 512]"), "entry 0: shape[1] is 0", nil},
		{"fractional dim", edit("[512, 512, 512]", "[512, 1.5, 512]"), "line 13: entry 0: shape[1] is 1.5, want an integer", nil},
		{"fractional samples", edit("samples: 20", "samples: 2.5"), "entry 0: stats.samples is 2.5, want an integer", nil},
		{"float vendor", edit("vendor: 4318", "vendor: 4318.0"), "adapter.vendor is 4318.0, want an integer", nil},
		{"missing id", edit("    id: t64x64-w16x16\n", ""), "entry 0: missing id", nil},
		{"duplicate entry", valid + valid[strings.Index(valid, "  - op:"):], "entry 1: same op, dtype and shape as entry 0", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", p)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error %q does not contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Decode error %q is not %v", err, tc.is)
			}
		})
	}
}

func TestLoadErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("schema: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrSchema) {
		t.Errorf("Load error = %v, want ErrSchema naming %s", err, path)
	}
	if _, err := Load(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load error = %v, want fs.ErrNotExist", err)
	}
}

func TestLookup(t *testing.T) {
	p := sample()
	for _, tc := range []struct {
		name, op, dtype string
		shape           []int
		p               *Profile
		wantID          string // "" means ErrNotFound
		wantExact       bool
	}{
		{"exact", "matmul", "f32", []int{512, 512, 512}, p, "small", true},
		{"nearest above", "matmul", "f32", []int{3000, 3000, 3000}, p, "big", false},
		{"nearest below", "matmul", "f32", []int{600, 600, 600}, p, "small", false},
		{"nearest mixed", "matmul", "f32", []int{1, 1, 1 << 20}, p, "small", false},
		{"other dtype", "matmul", "f16", []int{4096, 4096, 4096}, p, "half", false},
		{"no dtype", "matmul", "bf16", []int{512, 512, 512}, p, "", false},
		{"no op", "conv", "f32", []int{512, 512, 512}, p, "", false},
		{"other rank", "matmul", "f32", []int{512, 512}, p, "", false},
		{"zero dim", "matmul", "f32", []int{0, 512, 512}, p, "", false},
		{"nil profile", "matmul", "f32", []int{512, 512, 512}, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, exact, err := tc.p.Lookup(tc.op, tc.dtype, tc.shape)
			if tc.wantID == "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.dtype) {
					t.Errorf("Lookup = %q, %v, %v; want ErrNotFound naming %s", e.ID, exact, err, tc.dtype)
				}
				return
			}
			if err != nil || e.ID != tc.wantID || exact != tc.wantExact {
				t.Errorf("Lookup = %q, %v, %v; want %q, %v, nil", e.ID, exact, err, tc.wantID, tc.wantExact)
			}
		})
	}
}

// Neighbours lists the other shapes of an op and dtype, nearest first.
func TestNeighbours(t *testing.T) {
	p := &Profile{}
	for i, shape := range [][]int{{512, 512, 512}, {4096, 4096, 4096}, {1024, 1024, 1024}, {256, 256, 256}, {2048, 2048, 2048}} {
		p.Put(Entry{Op: "matmul", Dtype: "f32", Shape: shape, ID: fmt.Sprint("m", i)})
	}
	p.Put(Entry{Op: "matmul", Dtype: "f16", Shape: []int{1024, 1024, 1024}, ID: "half"})
	p.Put(Entry{Op: "gemv", Dtype: "f32", Shape: []int{1024, 1024}, ID: "gemv"})
	var got []string
	for _, e := range p.Neighbours("matmul", "f32", []int{1024, 1024, 1024}, 3) {
		got = append(got, e.ID)
	}
	// 512 and 2048 are equally near (a factor of 2 on each dim), as are 256
	// and 4096; the smaller sorts first.
	if want := []string{"m0", "m4", "m3"}; !slices.Equal(got, want) {
		t.Errorf("Neighbours = %v, want %v", got, want)
	}
	if n := len(p.Neighbours("matmul", "f32", []int{1024, 1024, 1024}, 10)); n != 4 {
		t.Errorf("%d neighbours of 1024³ with a limit of 10, want the 4 other f32 shapes", n)
	}
	if got := (*Profile)(nil).Neighbours("matmul", "f32", []int{1, 1, 1}, 3); got != nil {
		t.Errorf("nil profile: %v", got)
	}
}

func TestPutReplaces(t *testing.T) {
	p := sample()
	n := len(p.Entries)
	shape := []int{512, 512, 512}
	e := entry("matmul", "f32", "newer", shape...)
	p.Put(e)
	shape[0], e.Params["tile"] = 1, "changed" // Put must have copied them
	got, exact, err := p.Lookup("matmul", "f32", []int{512, 512, 512})
	if len(p.Entries) != n || err != nil || !exact || got.ID != "newer" || got.Params["tile"] != "64x64" {
		t.Errorf("after Put: %d entries, Lookup = %+v, %v, %v", len(p.Entries), got, exact, err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	amd := Adapter{Name: "AMD Radeon RX 7900 XTX", Vendor: 0x1002, Device: 0x744c, Driver: "radv 24.0", Backend: "vulkan"}
	cpu := Adapter{Name: "llvmpipe (LLVM 15.0.6, 256 bits)", Vendor: 0x10005, Driver: "Mesa 23", Backend: "vulkan", Type: "cpu"}
	save := func(a Adapter, name string) string {
		t.Helper()
		p := sample()
		p.Adapter = a
		path := filepath.Join(dir, name)
		if err := p.Save(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	h100Path := save(h100, h100.Slug()+".yaml")
	amdPath := save(amd, "amd-rx7900.yaml")
	cpuPath := save(cpu, "cpu.yaml")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	with := func(a Adapter, f func(*Adapter)) Adapter { f(&a); return a }

	for _, tc := range []struct {
		name     string
		dir      string
		a        Adapter
		wantPath string
		warn     []string // substrings, one per warning
	}{
		{"by slug", dir, h100, h100Path, nil},
		{"by slug, new driver", dir, with(h100, func(a *Adapter) { a.Driver = "560.1" }), h100Path,
			[]string{`was tuned with driver "550.54", this adapter has "560.1"`}},
		{"by vendor and device", dir, with(amd, func(a *Adapter) { a.Name = "AMD Radeon RX 7900 XTX (RADV NAVI31)" }), amdPath, nil},
		{"by name, new backend", dir, with(cpu, func(a *Adapter) { a.Backend = "opengl" }), cpuPath,
			[]string{`was tuned with backend "vulkan", this adapter has "opengl"`}},
		{"zero device id matches only by name", dir, with(cpu, func(a *Adapter) { a.Name = "other cpu" }), "",
			[]string{`no profile for adapter "other cpu"`}},
		{"none", dir, Adapter{Name: "Intel Arc A770", Vendor: 0x8086, Device: 0x56a0}, "",
			[]string{`no profile for adapter "Intel Arc A770" in ` + dir + "; using built-in defaults"}},
		{"missing dir", filepath.Join(dir, "nope"), h100, "", []string{"no profile for adapter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, path, warnings, err := Find(tc.dir, tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if path != tc.wantPath || (p == nil) != (tc.wantPath == "") {
				t.Errorf("Find = %v, %q; want path %q", p != nil, path, tc.wantPath)
			}
			if len(warnings) != len(tc.warn) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tc.warn))
			}
			for i, w := range tc.warn {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
		})
	}

	t.Run("broken file", func(t *testing.T) {
		bad := filepath.Join(dir, "broken.yaml")
		if err := os.WriteFile(bad, []byte("schema: 1\nbogus: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(bad)
		_, _, _, err := Find(dir, amd)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Find error = %v, want one naming %s", err, bad)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(valid))
	f.Add(encode(f, sample()))
	f.Add([]byte(valid[:len(valid)/2]))
	f.Add([]byte("schema: 1\n"))
	f.Add([]byte("schema: 1\nentries: [{op: x, shape: [1]}]\n"))
	f.Add([]byte("schema: 1\ncreated: 2001-12-14 21:59:43.10 -5\nadapter: &a {name: x}\nbogus: *a\n"))
	f.Add([]byte(""))
	f.Add([]byte("{{},<<}"))
	f.Add([]byte(validBucket))
	f.Add([]byte(validPortable))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		b := encode(t, p)
		q, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-decoding failed: %v\n%s", err, b)
		}
		if !equal(p, q) {
			t.Fatalf("round trip changed the profile:\n got %+v\nwant %+v\n%s", q, p, b)
		}
		if b2 := encode(t, q); !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable:\n%s\n---\n%s", b, b2)
		}
	})
}

// Others returns every other adapter's profile, the same vendor's first and
// the portable default last, never the adapter's own (whatever its driver
// or file name), and skips a broken file with a warning.
func TestOthers(t *testing.T) {
	dir := t.TempDir()
	save := func(a Adapter, name string) {
		t.Helper()
		p := sample()
		p.Adapter = a
		if err := p.Save(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	h200 := Adapter{Name: "NVIDIA H200", Vendor: 0x10de, Device: 0x2335, Driver: "580.159.04", Backend: "vulkan", Type: "discrete"}
	amd := Adapter{Name: "AMD Radeon RX 7900 XTX", Vendor: 0x1002, Device: 0x744c, Backend: "vulkan"}
	save(amd, "a-amd.yaml")
	save(h200, "z-h200.yaml")
	save(h100, "h100-old-driver.yaml")
	if err := os.WriteFile(filepath.Join(dir, "portable.yaml"), []byte(validPortable), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("schema: 1\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self := h100
	self.Driver = "580.1"
	others, warnings, err := Others(dir, self)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range others {
		names = append(names, p.Adapter.Name)
	}
	if want := []string{h200.Name, amd.Name, "portable"}; !slices.Equal(names, want) {
		t.Errorf("Others = %q, want %q", names, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "broken.yaml") {
		t.Errorf("warnings %q, want one naming broken.yaml", warnings)
	}
	if others, warnings, err := Others(filepath.Join(dir, "nope"), self); others != nil || warnings != nil || err != nil {
		t.Errorf("a missing dir: %v, %q, %v; want nothing", others, warnings, err)
	}
}
