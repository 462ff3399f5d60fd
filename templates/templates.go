package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"text/template"
)

//go:embed *.wgsl.tmpl
var files embed.FS

var parsed = template.Must(template.New("").Funcs(template.FuncMap{
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"add": func(a, b int) int { return a + b },
	"mul": func(a, b int) int { return a * b },
	"mod": func(a, b int) int { return a % b },
	"at":  at,
	// group indexes a row's scale for the element at col: with a group
	// length known when the kernel is generated the division is a shift,
	// and per-row scales need none.
	"group": func(group int, row, col string) string {
		if group == 0 {
			return row
		}
		return fmt.Sprintf("%s * gpr + %s / %du", row, col, group)
	},
	// pair hands a define a view and a name, e.g. the tensor it handles.
	"pair": func(v any, name string) map[string]any { return map[string]any{"V": v, "T": name} },
}).ParseFS(files, "*.wgsl.tmpl"))

// Kernel is what Render needs of a params struct.
type Kernel interface {
	// Name is the kernel family, e.g. "matmul".
	Name() string
	// Check reports params the template cannot express.
	Check() error
	// WorkgroupSize is the @workgroup_size the source declares.
	WorkgroupSize() [3]uint32
	// String lists the params as key=value pairs joined by '/'.
	String() string
	// view returns the template file and the data it is executed with.
	view() (file string, data any)
}

// Render checks p and executes its template. The source starts with a
// comment recording the kernel name and params.
func Render(p Kernel) ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("rendering %s %s: %w", p.Name(), p, err)
	}
	file, data := p.view()
	var buf bytes.Buffer
	if err := parsed.ExecuteTemplate(&buf, file, data); err != nil {
		return nil, fmt.Errorf("rendering %s %s: %w", p.Name(), p, err)
	}
	return buf.Bytes(), nil
}

func header(p Kernel) string {
	return fmt.Sprintf("tune kernel %s %s", p.Name(), p)
}

// Fingerprint identifies the template sources: results measured with other
// sources are not reused.
func Fingerprint() string {
	h := sha256.New()
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
