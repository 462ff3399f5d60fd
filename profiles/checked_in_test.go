package profiles

import (
	"path/filepath"
	"testing"
)

// The profiles checked in beside this package are real sweeps' output and
// must stay loadable as the schema evolves.
func TestCheckedInProfilesDecode(t *testing.T) {
	paths, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no checked-in profiles")
	}
	for _, path := range paths {
		p, err := Load(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if p.Adapter.Slug()+".yaml" != path {
			t.Errorf("%s holds the profile of %q, whose file would be %s.yaml", path, p.Adapter.Name, p.Adapter.Slug())
		}
		if _, _, err := p.Lookup("matmul", "f32", []int{512, 512, 512}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
