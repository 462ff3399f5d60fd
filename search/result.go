package search

// Status says what became of one evaluated point, or why a run stopped.
type Status string

const (
	OK       Status = "ok"       // validated and measured
	Rejected Status = "rejected" // failed to render, compile or validate; never timed

	Exhausted Status = "exhausted" // the method had no more points
	MaxEvals  Status = "max-evals" // Settings.MaxEvals reached
	Budget    Status = "budget"    // Settings.Budget of wall time spent
	Canceled  Status = "canceled"  // the context was cancelled
)

// Measurement is the timing of one validated candidate.
type Measurement struct {
	Clock   string    `json:"clock"`   // "timestamp" or "wall"
	Repeats int       `json:"repeats"` // dispatches per timed pass
	Samples []float64 `json:"samples"` // seconds per run, in measured order
	Median  float64   `json:"median"`  // seconds per run
	Lo      float64   `json:"lo"`      // 95% confidence interval of the median
	Hi      float64   `json:"hi"`
	Work    float64   `json:"work"` // work per run in Unit's numerator, e.g. FLOPs
	Unit    string    `json:"unit"` // rate unit, e.g. "FLOP/s"
}

// Rate is work per second at the median.
func (m Measurement) Rate() float64 {
	if m.Median <= 0 {
		return 0
	}
	return m.Work / m.Median
}

// Result is the outcome of evaluating one point of one task.
type Result struct {
	Task    string            `json:"task"`   // the workload, e.g. "matmul/f32/M=512/N=512/K=512"
	Env     string            `json:"env"`    // what else decides the result: adapter, driver, kernel sources
	Kernel  string            `json:"kernel"` // template name, e.g. "matmul"
	ID      string            `json:"id"`
	Params  map[string]string `json:"params,omitempty"`
	Status  Status            `json:"status"`
	Reason  string            `json:"reason,omitempty"` // why a point was rejected
	Score   float64           `json:"score"`            // higher is better; 0 when rejected
	Measure *Measurement      `json:"measure,omitempty"`
	// Seconds is the wall time the evaluation took, compile included.
	Seconds float64 `json:"seconds"`
	// Cached is set on results read back from the journal rather than
	// measured in this run; it is not stored.
	Cached bool `json:"-"`
}

// Better reports whether r beats other: a valid result beats a rejected
// one, and a higher score beats a lower one.
func (r Result) Better(other *Result) bool {
	if other == nil {
		return r.Status == OK
	}
	if r.Status != OK {
		return false
	}
	return other.Status != OK || r.Score > other.Score
}

// median is the Median, or where a Measurement carries samples alone, the
// samples' median.
func (m Measurement) median() float64 {
	if m.Median > 0 || len(m.Samples) == 0 {
		return m.Median
	}
	return medianOf(m.Samples)
}
