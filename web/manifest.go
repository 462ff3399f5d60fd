package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is the manifest schema this package writes and the page
// reads. Bump it when a change would make old exports mean something else.
// Schema 2 gave each kernel a list of buffers and a sequence of dispatches
// binding them, and a list of checks, some of whole buffers.
const SchemaVersion = 2

// ManifestFile is the manifest's name in an export folder.
const ManifestFile = "manifest.json"

// ErrSchema means a manifest's schema is missing or not SchemaVersion.
var ErrSchema = errors.New("wrong or missing manifest schema")

// Binding kinds, named as WebGPU's GPUBufferBindingType names them.
const (
	Uniform   = "uniform"           // var<uniform>
	ReadOnly  = "read-only-storage" // var<storage, read>
	ReadWrite = "storage"           // var<storage, read_write>
)

// Manifest describes an export folder.
type Manifest struct {
	Schema int `json:"schema"`
	// Profile is the base name of the profile file exported.
	Profile string    `json:"profile"`
	Adapter Adapter   `json:"adapter"` // the adapter the profile was tuned on
	Created time.Time `json:"created"` // the profile's creation time
	// Templates fingerprints the template sources the WGSL came from.
	Templates string   `json:"templates"`
	Kernels   []Kernel `json:"kernels"`
	Skipped   []Skip   `json:"skipped"` // entries left out, with why
}

// Adapter is profiles.Adapter as JSON: the adapter a profile was tuned on.
type Adapter struct {
	Name    string `json:"name"`
	Vendor  uint32 `json:"vendor"` // PCI vendor id
	Device  uint32 `json:"device"` // PCI device id
	Driver  string `json:"driver"`
	Backend string `json:"backend"`
	Type    string `json:"type"`
}

// Kernel is one exported profile entry: buffers, and the dispatches that
// run on them in order (one pass, one submit) as one timed run.
type Kernel struct {
	Name   string            `json:"name"` // file stem, e.g. "gemv-int4-g32-sym-512x2048"
	Op     string            `json:"op"`
	Dtype  string            `json:"dtype"` // "f32", a quant format, or a variant such as "kv-int8"
	Shape  []int             `json:"shape"`
	Dims   []string          `json:"dims"`   // what each shape dim is, e.g. ["M", "N", "K"]
	Kernel string            `json:"kernel"` // the entry's template name (the first dispatch's)
	ID     string            `json:"id"`
	Params map[string]string `json:"params"`

	Buffers    []Buffer   `json:"buffers"`
	Dispatches []Dispatch `json:"dispatches"` // in order
	Requires   Requires   `json:"requires"`
	Checks     []Check    `json:"checks"`

	Work   float64 `json:"work"` // per run of the dispatches, in Unit's numerator (FLOP or B)
	Unit   string  `json:"unit"` // "FLOP/s" or "B/s"
	Native Native  `json:"native"`
}

// Buffer is one buffer the dispatches bind.
type Buffer struct {
	Name string `json:"name"` // the WGSL variable of the first binding
	// Type is the element type of the words: "u32", "f32", or "words"
	// where a block kernel's checked case mixes them.
	Type  string `json:"type"`
	Words int    `json:"words"`
	// Exactly one of these gives the contents: Uniform holds a uniform's
	// words; File names a .bin of Words little-endian words; Fill is the
	// word every element of an output starts as.
	Uniform []uint32 `json:"uniform,omitempty"`
	File    string   `json:"file,omitempty"`
	Fill    *uint32  `json:"fill,omitempty"`
	Layout  *Layout  `json:"layout,omitempty"`
}

// Dispatch is one compute dispatch of a kernel.
type Dispatch struct {
	Kernel        string    `json:"kernel"` // template name
	WGSL          string    `json:"wgsl"`   // file name in the folder
	EntryPoint    string    `json:"entry_point"`
	WorkgroupSize [3]int    `json:"workgroup_size"`
	Groups        [3]int    `json:"groups"`   // workgroups
	Bindings      []Binding `json:"bindings"` // @group(0), in binding order
}

// Binding is @group(0) @binding(Index) of a dispatch: Kernel.Buffers[Buffer]
// bound as Kind.
type Binding struct {
	Index  int    `json:"index"`
	Buffer int    `json:"buffer"`
	Kind   string `json:"kind"` // Uniform, ReadOnly or ReadWrite
}

// Layout says how a matrix is laid out in its buffer.
type Layout struct {
	Rows  int    `json:"rows"`
	Cols  int    `json:"cols"`
	Order string `json:"order"` // "row-major"
	// Quant describes quantized weights; nil for f32 matrices.
	Quant *Quant `json:"quant,omitempty"`
}

// Quant is the packing of quantized weights (quant.Tensor's).
type Quant struct {
	Format       string `json:"format"` // e.g. "int4-g32-sym"
	Bits         int    `json:"bits"`
	Group        int    `json:"group"` // elements per scale along a row; 0 is one per row
	Symmetric    bool   `json:"symmetric"`
	CodesPerWord int    `json:"codes_per_word"`
	WordsPerRow  int    `json:"words_per_row"`
	// Packing and Value say how a code is found and what it means.
	Packing string `json:"packing"`
	Value   string `json:"value"`
	Scales  string `json:"scales"`         // the binding of the scales, [rows][cols/group] f32
	Mins    string `json:"mins,omitempty"` // the binding of the mins, asymmetric formats only
}

// Requires is what a kernel's dispatches need of a device beyond its
// features: each the largest over the dispatches, but TotalBytes.
type Requires struct {
	WorkgroupSize   [3]int `json:"workgroup_size"`    // per dimension
	Invocations     int    `json:"invocations"`       // per workgroup
	WorkgroupBytes  int    `json:"workgroup_bytes"`   // workgroup memory
	StorageBuffers  int    `json:"storage_buffers"`   // per shader stage
	MaxBindingBytes int64  `json:"max_binding_bytes"` // the largest storage binding
	MaxGroups       int    `json:"max_groups"`        // the largest dispatch dimension
	TotalBytes      int64  `json:"total_bytes"`       // all buffers
}

// Check is how a browser verifies buffer Buffer after one run of the
// dispatches on the inputs: Elements words, then Guard words that must
// keep Fill (no out-of-bounds write). The elements are checked one of two
// ways:
//   - sampled (Index, Want, Tol): every element written (no longer Fill)
//     and finite; element Index[i] within Tol[i] of Want[i], the CPU
//     reference;
//   - whole (Expect, Tolerance): the files hold Elements words, the buffer
//     expected after the run, and Elements f32 tolerances; a word equal
//     to the expected one passes, else its tolerance must be above 0 and
//     the element finite and within it as f32 (0 is an exact check, as
//     for indices, and an expected Fill is an element left alone).
type Check struct {
	Buffer    int       `json:"buffer"`
	Elements  int       `json:"elements"`
	Guard     int       `json:"guard"`
	Fill      uint32    `json:"fill"`
	Index     []int     `json:"index,omitempty"`
	Want      []float64 `json:"want,omitempty"`
	Tol       []float64 `json:"tol,omitempty"`
	Expect    string    `json:"expect,omitempty"`
	Tolerance string    `json:"tolerance,omitempty"`

	expect, tol []uint32 // the whole check's files, until written
}

// Checked is the number of elements compared with a reference.
func (c Check) Checked() int {
	if c.Expect != "" {
		return c.Elements
	}
	return len(c.Index)
}

// Native is the profile's measurement of the kernel.
type Native struct {
	Median  float64 `json:"median_s"`
	Lo      float64 `json:"ci_lo_s"`
	Hi      float64 `json:"ci_hi_s"`
	Samples int     `json:"samples"`
	Rate    float64 `json:"rate"`
	Unit    string  `json:"unit"`
	Clock   string  `json:"clock"`
}

// Skip is a profile entry Export left out.
type Skip struct {
	Op     string `json:"op"`
	Dtype  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Reason string `json:"reason"`
}

// LoadManifest reads dir's manifest strictly (unknown keys and a schema
// other than SchemaVersion are errors) and checks that every file it names
// is in dir with the size it says.
func LoadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := new(Manifest)
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("web: %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("web: %s: data after the manifest", path)
	}
	if m.Schema != SchemaVersion {
		return nil, fmt.Errorf("web: %s: schema %d: %w (want %d)", path, m.Schema, ErrSchema, SchemaVersion)
	}
	for _, k := range m.Kernels {
		if err := k.validate(dir); err != nil {
			return nil, fmt.Errorf("web: %s: kernel %s: %w", path, k.Name, err)
		}
	}
	return m, nil
}

// validate checks that k's indices are in range and that every file it
// names is in dir with the size it says.
func (k Kernel) validate(dir string) error {
	if len(k.Dispatches) == 0 {
		return errors.New("no dispatches")
	}
	files := map[string]int64{}
	for _, d := range k.Dispatches {
		files[d.WGSL] = -1
		for _, b := range d.Bindings {
			if b.Buffer < 0 || b.Buffer >= len(k.Buffers) {
				return fmt.Errorf("binding %d of %s: buffer %d of %d", b.Index, d.Kernel, b.Buffer, len(k.Buffers))
			}
		}
	}
	for _, b := range k.Buffers {
		if b.File != "" {
			files[b.File] = 4 * int64(b.Words)
		}
	}
	for _, c := range k.Checks {
		if c.Buffer < 0 || c.Buffer >= len(k.Buffers) || c.Elements < 0 || c.Guard < 0 || c.Elements+c.Guard > k.Buffers[c.Buffer].Words {
			return fmt.Errorf("a check of %d+%d words of buffer %d", c.Elements, c.Guard, c.Buffer)
		}
		if (c.Expect == "") != (c.Tolerance == "") || len(c.Want) != len(c.Index) || len(c.Tol) != len(c.Index) {
			return fmt.Errorf("check of buffer %d: want expect and tolerance files, or as many wants and tolerances as indices", c.Buffer)
		}
		for _, i := range c.Index {
			if i < 0 || i >= c.Elements {
				return fmt.Errorf("check of buffer %d: element %d of %d", c.Buffer, i, c.Elements)
			}
		}
		if c.Expect != "" {
			files[c.Expect] = 4 * int64(c.Elements)
			files[c.Tolerance] = 4 * int64(c.Elements)
		}
	}
	for f, size := range files {
		if f == "" || filepath.Base(f) != f {
			return fmt.Errorf("file name %q is not a name in the folder", f)
		}
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if size >= 0 && st.Size() != size {
			return fmt.Errorf("%s has %d bytes, want %d", f, st.Size(), size)
		}
	}
	return nil
}
