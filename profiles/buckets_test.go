package profiles

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withBuckets is sample() with two buckets of matmul f32: 256..1024 cubes
// served by "mid", and a wide one that overlaps it.
func withBuckets() *Profile {
	p := sample()
	member := func(n int, f float64, src string) Member {
		return Member{Shape: []int{n, n, n}, Fraction: f, Source: src, Stats: stats(float64(n) * 1e-6)}
	}
	p.SetBuckets("matmul", "f32", []Bucket{
		{Lo: []int{256, 256, 256}, Hi: []int{1024, 1024, 1024}, Kernel: "matmul", ID: "mid", Params: map[string]string{"tile": "32x32"},
			Members: []Member{member(256, 0.995, "measured"), member(1024, 1, "winner")},
			Holdout: []Holdout{{Shape: []int{512, 512, 512}, Fraction: 0.97, Best: "other", Evals: 12, Stats: stats(5e-4)}}},
		{Lo: []int{128, 128, 128}, Hi: []int{2048, 2048, 2048}, Kernel: "matmul", ID: "wide",
			Members: []Member{member(128, 1, "winner"), member(2048, 0.99, "journal")}},
	})
	return p
}

func TestBucketsRoundTrip(t *testing.T) {
	p := withBuckets()
	b := encode(t, p)
	q, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, b)
	}
	if !equal(p, q) {
		t.Errorf("round trip changed the profile:\n got %+v\nwant %+v", q.Buckets, p.Buckets)
	}
	if b2 := encode(t, q); !bytes.Equal(b, b2) {
		t.Errorf("re-encoding changed the bytes:\n%s\n---\n%s", b, b2)
	}
	// Sorted by range: the wide bucket (lo 128) comes first.
	if i, j := bytes.Index(b, []byte("id: wide")), bytes.Index(b, []byte("id: mid")); i < 0 || j < 0 || i > j {
		t.Errorf("buckets not in range order:\n%s", b)
	}
	if !bytes.Contains(b, []byte("    lo: [128, 128, 128]\n")) {
		t.Errorf("want flow ranges, got:\n%s", b)
	}
	// Replacing the buckets of an op and dtype leaves the others alone.
	q.SetBuckets("matmul", "f16", []Bucket{q.Buckets[0]})
	q.SetBuckets("matmul", "f32", nil)
	if len(q.Buckets) != 1 || q.Buckets[0].Dtype != "f16" {
		t.Errorf("SetBuckets left %+v", q.Buckets)
	}
}

func TestLookupBuckets(t *testing.T) {
	p := withBuckets()
	for _, tc := range []struct {
		name      string
		shape     []int
		wantID    string
		wantShape []int
		exact     bool
	}{
		{"an entry's own shape wins over a bucket", []int{512, 512, 512}, "small", []int{512, 512, 512}, true},
		{"inside both ranges: the nearest member's bucket", []int{300, 300, 300}, "mid", []int{256, 256, 256}, false},
		{"inside both ranges, nearer the wide bucket's member", []int{1024, 1024, 1500}, "wide", []int{2048, 2048, 2048}, false},
		{"inside the wide range only", []int{130, 2000, 130}, "wide", []int{128, 128, 128}, false},
		{"outside every range: the nearest entry", []int{3000, 3000, 3000}, "big", []int{4096, 4096, 4096}, false},
		{"another dtype has no buckets", []int{300, 300, 300}, "half", []int{512, 512, 512}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dtype := "f32"
			if tc.wantID == "half" {
				dtype = "f16"
			}
			e, exact, err := p.Lookup("matmul", dtype, tc.shape)
			if err != nil || e.ID != tc.wantID || exact != tc.exact || !equalInts(e.Shape, tc.wantShape) {
				t.Errorf("Lookup(%v) = %s %v exact %v, %v; want %s %v exact %v", tc.shape, e.ID, e.Shape, exact, err, tc.wantID, tc.wantShape, tc.exact)
			}
			if tc.wantID == "mid" && (e.Params["tile"] != "32x32" || e.Stats.Median != 256e-6) {
				t.Errorf("bucket entry params %v stats %+v, want the bucket's params and its member's stats", e.Params, e.Stats)
			}
		})
	}
	if b, ok := p.Bucket("matmul", "f32", []int{300, 300, 300}); !ok || b.ID != "mid" {
		t.Errorf("Bucket = %v, %v", b, ok)
	}
	if _, ok := p.Bucket("matmul", "f32", []int{100, 100, 100}); ok {
		t.Error("Bucket found one outside every range")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const validBucket = valid + `buckets:
  - op: matmul
    dtype: f32
    lo: [256, 256, 256]
    hi: [1024, 1024, 1024]
    kernel: matmul
    id: mid
    params: {}
    members:
      - shape: [256, 256, 256]
        fraction: 0.99
        source: measured
        stats: {median_s: 0.001, ci_lo_s: 0.0009, ci_hi_s: 0.0011, samples: 20, rate: 2.7e11, unit: FLOP/s, clock: timestamp}
    holdout:
      - shape: [512, 512, 512]
        fraction: 0.97
        best: other
        evals: 12
        stats: {median_s: 0.001, ci_lo_s: 0.0009, ci_hi_s: 0.0011, samples: 20, rate: 2.7e11, unit: FLOP/s, clock: timestamp}
`

const validPortable = `schema: 1
adapter:
  name: portable
  vendor: 0
  device: 0
  driver: ""
  backend: ""
  type: ""
created: 2025-01-02T03:04:05Z
portable: true
entries:
  - op: matmul
    dtype: f32
    shape: [512, 512, 512]
    kernel: matmul
    id: t64x64-w16x16
    params: {}
    portable:
      - {adapter: a, fraction: 0.9, rate: 1e9, unit: FLOP/s}
      - {adapter: b, fraction: 0.8, rate: 1e12, unit: FLOP/s}
`

func TestDecodeBucketsAndPortable(t *testing.T) {
	for _, in := range []string{validBucket, validPortable} {
		if _, err := Decode(strings.NewReader(in)); err != nil {
			t.Fatalf("Decode: %v\n%s", err, in)
		}
	}
	edit := func(in, old, new string) string {
		t.Helper()
		if !strings.Contains(in, old) {
			t.Fatalf("input does not contain %q", old)
		}
		return strings.Replace(in, old, new, 1)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"unknown bucket field", edit(validBucket, "    kernel: matmul\n    id: mid", "    colour: red\n    kernel: matmul\n    id: mid"), "field colour not found in type profiles.Bucket"},
		{"missing bucket id", edit(validBucket, "    id: mid\n", ""), "bucket 0: missing id"},
		{"lo above hi", edit(validBucket, "lo: [256, 256, 256]", "lo: [256, 2048, 256]"), "bucket 0: lo[1] is 2048, above hi[1] 1024"},
		{"ranks differ", edit(validBucket, "hi: [1024, 1024, 1024]", "hi: [1024, 1024]"), "lo has 3 dims, hi 2"},
		{"zero lo", edit(validBucket, "lo: [256, 256, 256]", "lo: [0, 256, 256]"), "bucket 0: lo[0] is 0"},
		{"fractional hi", edit(validBucket, "hi: [1024, 1024, 1024]", "hi: [1024, 10.5, 1024]"), "bucket 0: hi[1] is 10.5, want an integer"},
		{"member outside", edit(validBucket, "- shape: [256, 256, 256]", "- shape: [128, 256, 256]"), "bucket 0: member 0: shape [128 256 256] outside the range"},
		{"no members", edit(validBucket, "    members:\n      - shape: [256, 256, 256]\n        fraction: 0.99\n        source: measured\n        stats: {median_s: 0.001, ci_lo_s: 0.0009, ci_hi_s: 0.0011, samples: 20, rate: 2.7e11, unit: FLOP/s, clock: timestamp}\n", ""), "bucket 0: no members"},
		{"bad source", edit(validBucket, "source: measured", "source: guessed"), `member 0: source "guessed"`},
		{"zero fraction", edit(validBucket, "fraction: 0.99", "fraction: 0"), "member 0: fraction is 0"},
		{"untimed member", edit(validBucket, "median_s: 0.001, ci_lo_s: 0.0009, ci_hi_s: 0.0011, samples: 20, rate: 2.7e11, unit: FLOP/s, clock: timestamp}\n    holdout", "samples: 20}\n    holdout"), "member 0: stats.median_s is 0"},
		{"holdout without best", edit(validBucket, "        best: other\n", ""), "holdout 0: missing best"},
		{"holdout negative evals", edit(validBucket, "evals: 12", "evals: -1"), "holdout 0: evals is -1"},
		{"holdout fractional evals", edit(validBucket, "evals: 12", "evals: 1.5"), "holdout 0: evals is 1.5, want an integer"},
		{"holdout rank", edit(validBucket, "- shape: [512, 512, 512]", "- shape: [512, 512]"), "holdout 0: shape [512 512] has 2 dims"},
		{"duplicate bucket", validBucket + validBucket[strings.Index(validBucket, "  - op: matmul\n    dtype: f32\n    lo"):], "bucket 1: same op, dtype and range as bucket 0"},
		{"portable not named portable", edit(validPortable, "name: portable", "name: other"), `adapter is named "portable", not "other"`},
		{"shares outside a portable profile", edit(validPortable, "portable: true\n", ""), "entry 0: portable shares in a profile not marked portable"},
		{"portable entry without shares", edit(validPortable, "    portable:\n      - {adapter: a, fraction: 0.9, rate: 1e9, unit: FLOP/s}\n      - {adapter: b, fraction: 0.8, rate: 1e12, unit: FLOP/s}\n", ""), "entry 0: no portable shares"},
		{"share without adapter", edit(validPortable, "adapter: a, ", ""), "entry 0: portable 0: missing adapter"},
		{"share NaN fraction", edit(validPortable, "fraction: 0.9", "fraction: .nan"), "portable 0: fraction is NaN"},
		{"share zero rate", edit(validPortable, "rate: 1e9", "rate: 0"), "portable 0: rate is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", p)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestFindFallsBackToPortable(t *testing.T) {
	dir := t.TempDir()
	own := sample()
	own.Adapter = h100
	if err := own.Save(filepath.Join(dir, h100.Slug()+".yaml")); err != nil {
		t.Fatal(err)
	}
	port, err := Decode(strings.NewReader(validPortable))
	if err != nil {
		t.Fatal(err)
	}
	portPath := filepath.Join(dir, "portable.yaml")
	if err := port.Save(portPath); err != nil {
		t.Fatal(err)
	}
	// The adapter with a profile gets its own.
	p, path, _, err := Find(dir, h100)
	if err != nil || p == nil || p.Portable || path != filepath.Join(dir, h100.Slug()+".yaml") {
		t.Errorf("Find(h100) = %v, %q, %v; want its own profile", p != nil, path, err)
	}
	// An adapter without one gets the portable default, with a warning;
	// one named "portable", with vendor 0 and device 0, is no exception.
	for _, a := range []Adapter{{Name: "Intel Arc A770", Vendor: 0x8086, Device: 0x56a0}, {Name: "portable"}} {
		p, path, warnings, err := Find(dir, a)
		if err != nil || p == nil || !p.Portable || path != portPath {
			t.Fatalf("Find(%s) = %v, %q, %v; want the portable default", a.Name, p != nil, path, err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "using the portable defaults of "+portPath) {
			t.Errorf("warnings %q", warnings)
		}
		if e, _, err := p.Lookup("matmul", "f32", []int{1000, 1000, 1000}); err != nil || e.ID != "t64x64-w16x16" {
			t.Errorf("portable Lookup = %v, %v", e.ID, err)
		}
	}
	// A portable.yaml not marked portable is refused, not silently used.
	other := sample()
	other.Created = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	other.Adapter = Adapter{Name: "portable"}
	if err := other.Save(portPath); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Find(dir, Adapter{Name: "Intel Arc A770"}); err == nil || !strings.Contains(err.Error(), "not marked portable") {
		t.Errorf("Find with an unmarked portable.yaml: %v", err)
	}
	os.Remove(portPath)
	if p, _, warnings, err := Find(dir, Adapter{Name: "Intel Arc A770"}); err != nil || p != nil || !strings.Contains(warnings[0], "built-in defaults") {
		t.Errorf("Find without portable.yaml = %v, %q, %v", p != nil, warnings, err)
	}
}
