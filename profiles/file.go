package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode reads one profile strictly: unknown keys, a schema other than
// SchemaVersion, a second YAML document, and entries that fail the checks
// below are errors. Each entry needs an op, dtype, kernel, id, a non-empty
// shape of positive dims, and timed stats (samples >= 1, median_s > 0, all
// values finite and non-negative), except in a portable profile, whose
// entries may carry per-adapter shares instead; no two entries may share
// op, dtype and shape. Buckets need the same names, a range lo <= hi of
// positive dims holding every member, and timed stats per member and
// held-out shape. Errors name the entry or bucket by its index in the file.
func Decode(r io.Reader) (*Profile, error) {
	p, err := decode(r)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	return p, nil
}

// Load decodes the profile at path; errors name the path.
func Load(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	defer f.Close()
	p, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("profiles: %s: %w", path, err)
	}
	return p, nil
}

func decode(r io.Reader) (*Profile, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	p := new(Profile)
	if err := safely(func() error { return dec.Decode(p) }); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file")
		}
		return nil, err
	}
	// A second document is most likely two files pasted together; refuse
	// rather than silently drop half of it.
	var extra yaml.Node
	if err := safely(func() error { return dec.Decode(&extra) }); !errors.Is(err, io.EOF) {
		if err == nil {
			err = fmt.Errorf("line %d: more than one YAML document", extra.Line)
		}
		return nil, err
	}
	if err := checkInts(b); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkInts rejects floats where the format has integers: yaml.v3 silently
// truncates "shape: [512, 1.5]" to [512, 1]. It sees b after Decode has
// accepted it, so it looks only at the fields that are ints.
func checkInts(b []byte) error {
	type stats struct {
		Samples yaml.Node `yaml:"samples"`
	}
	var doc struct {
		Schema  yaml.Node `yaml:"schema"`
		Adapter struct {
			Vendor yaml.Node `yaml:"vendor"`
			Device yaml.Node `yaml:"device"`
		} `yaml:"adapter"`
		Entries []struct {
			Shape    []yaml.Node           `yaml:"shape"`
			Stats    stats                 `yaml:"stats"`
			Baseline struct{ Stats stats } `yaml:"baseline"`
			RunnerUp struct{ Stats stats } `yaml:"runner_up"`
		} `yaml:"entries"`
		Buckets []struct {
			Lo, Hi  []yaml.Node
			Members []struct {
				Shape []yaml.Node
				Stats stats
			}
			Holdout []struct {
				Shape []yaml.Node
				Evals yaml.Node
				Stats stats
			}
		} `yaml:"buckets"`
	}
	if err := safely(func() error { return yaml.Unmarshal(b, &doc) }); err != nil {
		return err
	}
	check := func(where string, n yaml.Node) error {
		if n.Kind == yaml.AliasNode {
			n = *n.Alias
		}
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			return fmt.Errorf("line %d: %s is %s, want an integer", n.Line, where, n.Value)
		}
		return nil
	}
	errs := []error{
		check("schema", doc.Schema),
		check("adapter.vendor", doc.Adapter.Vendor),
		check("adapter.device", doc.Adapter.Device),
	}
	for i, e := range doc.Entries {
		for j, n := range e.Shape {
			errs = append(errs, check(fmt.Sprintf("entry %d: shape[%d]", i, j), n))
		}
		errs = append(errs,
			check(fmt.Sprintf("entry %d: stats.samples", i), e.Stats.Samples),
			check(fmt.Sprintf("entry %d: baseline.stats.samples", i), e.Baseline.Stats.Samples),
			check(fmt.Sprintf("entry %d: runner_up.stats.samples", i), e.RunnerUp.Stats.Samples))
	}
	dims := func(where string, ns []yaml.Node) {
		for j, n := range ns {
			errs = append(errs, check(fmt.Sprintf("%s[%d]", where, j), n))
		}
	}
	for i, b := range doc.Buckets {
		dims(fmt.Sprintf("bucket %d: lo", i), b.Lo)
		dims(fmt.Sprintf("bucket %d: hi", i), b.Hi)
		for j, m := range b.Members {
			dims(fmt.Sprintf("bucket %d: member %d: shape", i, j), m.Shape)
			errs = append(errs, check(fmt.Sprintf("bucket %d: member %d: stats.samples", i, j), m.Stats.Samples))
		}
		for j, h := range b.Holdout {
			dims(fmt.Sprintf("bucket %d: holdout %d: shape", i, j), h.Shape)
			errs = append(errs,
				check(fmt.Sprintf("bucket %d: holdout %d: evals", i, j), h.Evals),
				check(fmt.Sprintf("bucket %d: holdout %d: stats.samples", i, j), h.Stats.Samples))
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// safely runs a yaml.v3 decode, turning its panics into errors: v3.0.1
// panics on some malformed input, such as "{{},<<}".
func safely(decode func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: %v", r)
		}
	}()
	return decode()
}

// Encode writes p as YAML with a 2-space indent and entries sorted by op,
// dtype, then shape, so the same profile always gives the same bytes.
// It refuses (writing nothing) a profile that Decode would reject.
func (p *Profile) Encode(w io.Writer) error {
	b, err := p.marshal()
	if err != nil {
		return fmt.Errorf("profiles: encode: %w", err)
	}
	_, err = w.Write(b)
	return err
}

func (p *Profile) marshal() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	q := *p
	q.Entries = slices.Clone(p.Entries)
	slices.SortFunc(q.Entries, compareEntries)
	q.Buckets = slices.Clone(p.Buckets)
	slices.SortFunc(q.Buckets, compareBuckets)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&q); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save writes p to path atomically: it encodes in memory, writes a temp file
// in the same directory (creating the directory if needed), syncs it and
// renames it over path. On any failure path is left as it was and the temp
// file is removed.
func (p *Profile) Save(path string) (err error) {
	b, err := p.marshal()
	if err != nil {
		return fmt.Errorf("profiles: save %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("profiles: save: %w", err)
	}
	// A dot name without the .yaml suffix, so Find and globs skip it.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("profiles: save: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("profiles: save: %w", err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; profiles are checked in and shared.
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (p *Profile) validate() error {
	if p.Schema != SchemaVersion {
		got := "missing"
		if p.Schema != 0 {
			got = strconv.Itoa(p.Schema)
		}
		return fmt.Errorf("schema %s: %w (want %d)", got, ErrSchema, SchemaVersion)
	}
	if p.Portable && p.Adapter.Name != PortableName {
		return fmt.Errorf("a portable profile's adapter is named %q, not %q", PortableName, p.Adapter.Name)
	}
	type key struct{ op, dtype, shape string }
	seen := make(map[key]int, len(p.Entries))
	for i, e := range p.Entries {
		if err := e.validate(p.Portable); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		k := key{e.Op, e.Dtype, fmt.Sprint(e.Shape)}
		if j, ok := seen[k]; ok {
			return fmt.Errorf("entry %d: same op, dtype and shape as entry %d", i, j)
		}
		seen[k] = i
	}
	type bkey struct{ op, dtype, lo, hi string }
	bseen := make(map[bkey]int, len(p.Buckets))
	for i, b := range p.Buckets {
		if err := b.validate(); err != nil {
			return fmt.Errorf("bucket %d: %w", i, err)
		}
		k := bkey{b.Op, b.Dtype, fmt.Sprint(b.Lo), fmt.Sprint(b.Hi)}
		if j, ok := bseen[k]; ok {
			return fmt.Errorf("bucket %d: same op, dtype and range as bucket %d", i, j)
		}
		bseen[k] = i
	}
	return nil
}

func validShape(where string, shape []int) error {
	if len(shape) == 0 {
		return fmt.Errorf("missing %s", where)
	}
	for i, d := range shape {
		if d <= 0 {
			return fmt.Errorf("%s[%d] is %d, want > 0", where, i, d)
		}
	}
	return nil
}

func validFraction(where string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return fmt.Errorf("%s is %v, want a finite number > 0", where, f)
	}
	return nil
}

func (b *Bucket) validate() error {
	for _, f := range [...]struct{ name, v string }{{"op", b.Op}, {"dtype", b.Dtype}, {"kernel", b.Kernel}, {"id", b.ID}} {
		if f.v == "" {
			return fmt.Errorf("missing %s", f.name)
		}
	}
	if err := validShape("lo", b.Lo); err != nil {
		return err
	}
	if err := validShape("hi", b.Hi); err != nil {
		return err
	}
	if len(b.Lo) != len(b.Hi) {
		return fmt.Errorf("lo has %d dims, hi %d", len(b.Lo), len(b.Hi))
	}
	for i := range b.Lo {
		if b.Lo[i] > b.Hi[i] {
			return fmt.Errorf("lo[%d] is %d, above hi[%d] %d", i, b.Lo[i], i, b.Hi[i])
		}
	}
	if len(b.Members) == 0 {
		return errors.New("no members")
	}
	for j, m := range b.Members {
		where := fmt.Sprintf("member %d", j)
		if err := validShape(where+": shape", m.Shape); err != nil {
			return err
		}
		if !b.Contains(m.Shape) {
			return fmt.Errorf("%s: shape %v outside the range %v..%v", where, m.Shape, b.Lo, b.Hi)
		}
		if err := validFraction(where+": fraction", m.Fraction); err != nil {
			return err
		}
		if m.Source != "winner" && m.Source != "journal" && m.Source != "measured" {
			return fmt.Errorf("%s: source %q, want winner, journal or measured", where, m.Source)
		}
		if err := m.Stats.validate(where + ": stats"); err != nil {
			return err
		}
	}
	for j, h := range b.Holdout {
		where := fmt.Sprintf("holdout %d", j)
		if err := validShape(where+": shape", h.Shape); err != nil {
			return err
		}
		if len(h.Shape) != len(b.Lo) {
			return fmt.Errorf("%s: shape %v has %d dims, the range %d", where, h.Shape, len(h.Shape), len(b.Lo))
		}
		if err := validFraction(where+": fraction", h.Fraction); err != nil {
			return err
		}
		if h.Best == "" {
			return fmt.Errorf("%s: missing best", where)
		}
		if h.Evals < 0 {
			return fmt.Errorf("%s: evals is %d, want >= 0", where, h.Evals)
		}
		if err := h.Stats.validate(where + ": stats"); err != nil {
			return err
		}
	}
	return nil
}

// compareBuckets orders buckets by op, dtype, then range.
func compareBuckets(a, b Bucket) int {
	if c := strings.Compare(a.Op, b.Op); c != 0 {
		return c
	}
	if c := strings.Compare(a.Dtype, b.Dtype); c != 0 {
		return c
	}
	if c := slices.Compare(a.Lo, b.Lo); c != 0 {
		return c
	}
	return slices.Compare(a.Hi, b.Hi)
}

func (e *Entry) validate(portable bool) error {
	for _, f := range [...]struct{ name, v string }{{"op", e.Op}, {"dtype", e.Dtype}, {"kernel", e.Kernel}, {"id", e.ID}} {
		if f.v == "" {
			return fmt.Errorf("missing %s", f.name)
		}
	}
	if err := validShape("shape", e.Shape); err != nil {
		return err
	}
	if len(e.Portable) > 0 && !portable {
		return errors.New("portable shares in a profile not marked portable")
	}
	if portable {
		if len(e.Portable) == 0 {
			return errors.New("no portable shares")
		}
		for j, s := range e.Portable {
			if s.Adapter == "" {
				return fmt.Errorf("portable %d: missing adapter", j)
			}
			if err := validFraction(fmt.Sprintf("portable %d: fraction", j), s.Fraction); err != nil {
				return err
			}
			if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate <= 0 {
				return fmt.Errorf("portable %d: rate is %v, want a finite number > 0", j, s.Rate)
			}
		}
	}
	// A portable entry's timings are its shares; stats, if any, are checked.
	if !portable || e.Stats != (Stats{}) {
		if err := e.Stats.validate("stats"); err != nil {
			return err
		}
	}
	if b := e.Baseline; b != nil {
		if b.Kernel == "" {
			return errors.New("missing baseline.kernel")
		}
		if err := b.Stats.validate("baseline.stats"); err != nil {
			return err
		}
	}
	if r := e.RunnerUp; r != nil {
		if r.ID == "" {
			return errors.New("missing runner_up.id")
		}
		if err := r.Stats.validate("runner_up.stats"); err != nil {
			return err
		}
		if math.IsNaN(r.Margin) || math.IsInf(r.Margin, 0) {
			return fmt.Errorf("runner_up.margin is %v, want a finite number", r.Margin)
		}
	}
	return nil
}

// validate also demands a timed result (samples and median above zero): a
// winner that was never timed is no winner, and zero stats are what an entry
// cut short before its stats decodes to.
func (s Stats) validate(where string) error {
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"median_s", s.Median}, {"ci_lo_s", s.Lo}, {"ci_hi_s", s.Hi}, {"rate", s.Rate}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s.%s is %v, want a finite number >= 0", where, f.name, f.v)
		}
	}
	if s.Median == 0 {
		return fmt.Errorf("%s.median_s is 0, want a timed result", where)
	}
	if s.Samples < 1 {
		return fmt.Errorf("%s.samples is %d, want >= 1", where, s.Samples)
	}
	return nil
}
