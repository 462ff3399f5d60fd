package profiles_test

import (
	"fmt"
	"os"
	"time"

	"github.com/tune-gpu/tune/profiles"
)

func ExampleProfile_Lookup() {
	p := profiles.New(profiles.Adapter{Name: "NVIDIA H100 80GB HBM3"})
	for _, n := range []int{512, 4096} {
		p.Put(profiles.Entry{
			Op: "matmul", Dtype: "f32", Shape: []int{n, n, n},
			Kernel: "matmul", ID: fmt.Sprintf("tuned-for-%d", n),
			Stats: profiles.Stats{Median: 1e-3, Samples: 20},
		})
	}
	for _, shape := range [][]int{{512, 512, 512}, {3000, 3000, 3000}, {3000, 3000}} {
		e, exact, err := p.Lookup("matmul", "f32", shape)
		if err != nil {
			fmt.Println(shape, err)
			continue
		}
		fmt.Println(shape, e.ID, "exact:", exact)
	}
	// Output:
	// [512 512 512] tuned-for-512 exact: true
	// [3000 3000 3000] tuned-for-4096 exact: false
	// [3000 3000] profiles: lookup op "matmul" dtype "f32" with 2 dims: no matching entry
}

// The file format, as Save writes it.
func ExampleProfile_Encode() {
	p := &profiles.Profile{
		Schema:  profiles.SchemaVersion,
		Adapter: profiles.Adapter{Name: "NVIDIA H100 80GB HBM3", Vendor: 0x10de, Device: 0x2331, Driver: "550.54", Backend: "vulkan", Type: "discrete"},
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Tool:    "tune sweep -op matmul",
	}
	p.Put(profiles.Entry{
		Op: "matmul", Dtype: "f32", Shape: []int{4096, 4096, 4096},
		Kernel: "matmul", ID: "t64x64-w16x16",
		Params: map[string]string{"tile": "64x64", "wg": "16x16"},
		Stats:  profiles.Stats{Median: 2.5e-3, Lo: 2.4e-3, Hi: 2.6e-3, Samples: 20, Rate: 5.5e13, Unit: "FLOP/s", Clock: "timestamp"},
	})
	if err := p.Encode(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// schema: 1
	// adapter:
	//   name: NVIDIA H100 80GB HBM3
	//   vendor: 4318
	//   device: 9009
	//   driver: "550.54"
	//   backend: vulkan
	//   type: discrete
	// created: 2025-01-02T03:04:05Z
	// tool: tune sweep -op matmul
	// entries:
	//   - op: matmul
	//     dtype: f32
	//     shape: [4096, 4096, 4096]
	//     kernel: matmul
	//     id: t64x64-w16x16
	//     params:
	//       tile: 64x64
	//       wg: 16x16
	//     stats:
	//       median_s: 0.0025
	//       ci_lo_s: 0.0024
	//       ci_hi_s: 0.0026
	//       samples: 20
	//       rate: 5.5e+13
	//       unit: FLOP/s
	//       clock: timestamp
}
