package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Find picks the profile for adapter a in dir. It tries dir/<a.Slug()>.yaml
// first; failing that, any *.yaml in dir whose adapter has a's vendor and
// non-zero device id, or a's name, preferring one with a's driver and
// backend, then the first by file name.
//
// When none matches, Find falls back to the portable default
// dir/portable.yaml (tune portable), if there is one.
//
// Warnings are sentences for the user: no profile matched (and the portable
// default is used), or the matched profile was tuned with another driver or
// backend. No match is not an error: Find returns (nil, "", warnings, nil),
// and the nil profile's Lookup returns ErrNotFound. A file in dir that fails
// to decode is an error.
func Find(dir string, a Adapter) (p *Profile, path string, warnings []string, err error) {
	path = filepath.Join(dir, a.Slug()+".yaml")
	p, err = Load(path)
	// The portable default is no adapter's own profile, whatever its name.
	if errors.Is(err, fs.ErrNotExist) || err == nil && p.Portable {
		p, path, err = scan(dir, a)
	}
	if err != nil {
		return nil, "", nil, err
	}
	if p == nil {
		path = filepath.Join(dir, PortableName+".yaml")
		p, err = Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", []string{fmt.Sprintf("no profile for adapter %q in %s; using built-in defaults", a.Name, dir)}, nil
		}
		if err != nil {
			return nil, "", nil, err
		}
		if !p.Portable {
			return nil, "", nil, fmt.Errorf("profiles: %s is not marked portable", path)
		}
		return p, path, []string{fmt.Sprintf("no profile for adapter %q in %s; using the portable defaults of %s", a.Name, dir, path)}, nil
	}

	for _, f := range [...]struct{ name, was, is string }{
		{"driver", p.Adapter.Driver, a.Driver},
		{"backend", p.Adapter.Backend, a.Backend},
	} {
		if f.was != f.is {
			warnings = append(warnings, fmt.Sprintf("profile %s was tuned with %s %q, this adapter has %q; its choices may no longer be best", path, f.name, f.was, f.is))
		}
	}
	return p, path, warnings, nil
}

// scan decodes every *.yaml in dir, so a broken file is reported whichever
// adapter is asked for, and returns the best match for a, if any.
func scan(dir string, a Adapter) (*Profile, string, error) {
	files, err := loadDir(dir)
	if err != nil {
		return nil, "", err
	}
	var best *Profile
	var bestPath string
	bestSame := false
	for _, f := range files {
		if f.err != nil {
			return nil, "", f.err
		}
		p, path := f.p, f.path
		b := p.Adapter
		if p.Portable {
			continue
		}
		if !sameAdapter(a, b) {
			continue
		}
		same := b.Driver == a.Driver && b.Backend == a.Backend
		if best == nil || same && !bestSame {
			best, bestPath, bestSame = p, path, same
		}
	}
	return best, bestPath, nil
}

// sameAdapter reports whether b names the GPU a is: the same non-zero PCI
// ids, or the same name.
func sameAdapter(a, b Adapter) bool {
	return a.Device != 0 && b.Vendor == a.Vendor && b.Device == a.Device || a.Name != "" && b.Name == a.Name
}

// Others returns the profiles in dir tuned on adapters other than a (by the
// match Find uses), those of a's vendor first, then the rest, each group by
// file name, and the portable default last: where a search on a begins when
// a has no profile of its own yet. A file that fails to decode is skipped and
// named in warnings; a missing dir gives none.
func Others(dir string, a Adapter) (others []*Profile, warnings []string, err error) {
	files, err := loadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var vendor, rest, portable []*Profile
	for _, f := range files {
		if f.err != nil {
			warnings = append(warnings, fmt.Sprintf("skipping %s: %v", f.path, f.err))
			continue
		}
		p := f.p
		b := p.Adapter
		switch {
		case p.Portable:
			portable = append(portable, p)
		case sameAdapter(a, b):
			// a's own, whatever its driver.
		case a.Vendor != 0 && b.Vendor == a.Vendor:
			vendor = append(vendor, p)
		default:
			rest = append(rest, p)
		}
	}
	return slices.Concat(vendor, rest, portable), warnings, nil
}

// loaded is one *.yaml file of a directory, decoded or not.
type loaded struct {
	path string
	p    *Profile
	err  error
}

// loadDir decodes every *.yaml in dir, in file name order; a missing dir
// has none.
func loadDir(dir string) ([]loaded, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	var files []loaded
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ".yaml") {
			continue
		}
		path := filepath.Join(dir, de.Name())
		p, err := Load(path)
		files = append(files, loaded{path, p, err})
	}
	return files, nil
}
