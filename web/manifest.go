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
const SchemaVersion = 1

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

// Kernel is one exported profile entry.
type Kernel struct {
	Name   string            `json:"name"` // file stem, e.g. "gemv-int4-g32-sym-512x2048"
	Op     string            `json:"op"`
	Dtype  string            `json:"dtype"` // "f32" or a quant format, e.g. "int4-g32-sym"
	Shape  []int             `json:"shape"`
	Dims   []string          `json:"dims"`   // what each shape dim is, e.g. ["M", "N", "K"]
	Kernel string            `json:"kernel"` // template name
	ID     string            `json:"id"`
	Params map[string]string `json:"params"`

	WGSL          string    `json:"wgsl"` // file name in the folder
	EntryPoint    string    `json:"entry_point"`
	WorkgroupSize [3]int    `json:"workgroup_size"`
	Dispatch      [3]int    `json:"dispatch"` // workgroups
	Bindings      []Binding `json:"bindings"` // @group(0), in binding order
	Requires      Requires  `json:"requires"`
	Check         Check     `json:"check"`

	Work   float64 `json:"work"` // per dispatch, in Unit's numerator (FLOP or B)
	Unit   string  `json:"unit"` // "FLOP/s" or "B/s"
	Native Native  `json:"native"`
}

// Binding is one buffer at @group(0) @binding(Index).
type Binding struct {
	Index int    `json:"index"`
	Name  string `json:"name"` // the WGSL variable
	Kind  string `json:"kind"` // Uniform, ReadOnly or ReadWrite
	Type  string `json:"type"` // element type of the words: "u32" or "f32"
	Words int    `json:"words"`
	// Exactly one of these gives the contents: Uniform holds a uniform's
	// words; File names a .bin of Words little-endian words; Fill is the
	// word every element of an output starts as.
	Uniform []uint32 `json:"uniform,omitempty"`
	File    string   `json:"file,omitempty"`
	Fill    *uint32  `json:"fill,omitempty"`
	Layout  *Layout  `json:"layout,omitempty"`
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

// Requires is what a kernel needs of a device beyond its features.
type Requires struct {
	Invocations     int   `json:"invocations"`       // per workgroup
	WorkgroupBytes  int   `json:"workgroup_bytes"`   // workgroup memory
	StorageBuffers  int   `json:"storage_buffers"`   // per shader stage
	MaxBindingBytes int64 `json:"max_binding_bytes"` // the largest storage binding
	MaxGroups       int   `json:"max_groups"`        // the largest dispatch dimension
	TotalBytes      int64 `json:"total_bytes"`       // all buffers
}

// Check is how a browser verifies the output binding after one dispatch
// on the inputs: Elements words, then Guard words that must keep the
// binding's Fill (no out-of-bounds write); every element written (no
// longer Fill) and finite; element Index[i] within Tol[i] of Want[i], the
// CPU reference.
type Check struct {
	Binding  int       `json:"binding"`
	Elements int       `json:"elements"`
	Guard    int       `json:"guard"`
	Index    []int     `json:"index"`
	Want     []float64 `json:"want"`
	Tol      []float64 `json:"tol"`
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
		files := map[string]int64{k.WGSL: -1}
		for _, b := range k.Bindings {
			if b.File != "" {
				files[b.File] = 4 * int64(b.Words)
			}
		}
		for f, size := range files {
			if f == "" || filepath.Base(f) != f {
				return nil, fmt.Errorf("web: %s: kernel %s: file name %q is not a name in the folder", path, k.Name, f)
			}
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				return nil, fmt.Errorf("web: %s: kernel %s: %w", path, k.Name, err)
			}
			if size >= 0 && st.Size() != size {
				return nil, fmt.Errorf("web: %s: kernel %s: %s has %d bytes, want %d", path, k.Name, f, st.Size(), size)
			}
		}
	}
	return m, nil
}
