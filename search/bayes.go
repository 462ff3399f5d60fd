package search

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

var (
	_ Primed     = (*Bayes)(nil)
	_ Reobserver = (*Bayes)(nil)
)

// Bayes is model-based search: a Gaussian process over the points' axis
// positions (scaled to the unit cube) models the log of the score, and the
// next point is the untried one of highest expected improvement. Its
// starting points spread over every axis's values (pointIndex.spread). A
// rejected point counts as a score below every valid one, which steers the
// model away from its neighbourhood. Every Local-th proposal instead
// exploits: of the untried neighbours (pointIndex.neighbours; where those
// are all tried, pointIndex.diagonals) of the three best points so far,
// the one the model rates highest. So a run ends on a local optimum rather
// than beside one, and reruns whose measurements differ by noise end on
// the same one.
// With a known budget, its last quarter is spent that way: climbing from
// the best points until none of their neighbours is better. Where the
// space names Core axes, the quarter before it searches the slice through
// the best point along them (its model-guided proposals keep the best
// point's other axes): kernels that divide the work differently lie many
// axis steps apart, and a climb does not cross between them. Primed, it
// proposes the given points first, and spreads its own starts after them.
type Bayes struct {
	Starts int // starting points (spread over the axes' values) before the model is used; 0 means 8
	Local  int // every Local-th model-guided proposal is a neighbour of the best; 0 means 3, negative never

	idx    pointIndex
	r      *rand.Rand
	tried  []bool
	left   int
	feats  [][]float64 // of every legal point
	obsX   [][]float64
	obsY   []float64 // log score; NaN for rejected (the model places those below every valid one)
	obsI   []int     // the legal index of each observation
	last   int
	starts int
	local  int
	order  [][]int // each axis's value order, for the spread starts
	polish int     // observations after which every proposal climbs; 0 for none
	slice  int     // observations after which model-guided proposals keep the best point's non-core axes (neighbour steps aside); 0 for none
	core   []bool  // per axis, whether it is one of the space's Core axes
	first  []int   // legal indexes of the primed points, proposed first
	primed int     // primed points proposed so far
}

func (m *Bayes) Init(legal []Point, seed uint64) {
	m.idx = newPointIndex(legal)
	m.r = rand.New(rand.NewPCG(seed, 0xba7e5))
	m.tried = make([]bool, len(legal))
	m.left = len(legal)
	m.feats = make([][]float64, len(legal))
	for i, p := range legal {
		m.feats[i] = features(p)
	}
	m.obsX, m.obsY, m.obsI = nil, nil, nil
	m.order = m.idx.valueOrders(m.r)
	m.polish, m.slice = 0, 0
	m.core = nil
	if len(legal) > 0 {
		sp := legal[0].space
		for _, a := range sp.Axes {
			m.core = append(m.core, slices.Contains(sp.Core, a.Name))
		}
	}
	m.first, m.primed = nil, 0
	m.starts = m.Starts
	if m.starts <= 0 {
		m.starts = 8
	}
	m.local = m.Local
	if m.local == 0 {
		m.local = 3
	}
}

// Prime makes the legal ones among first, in order, the run's first
// proposals; the spread starts follow them.
func (m *Bayes) Prime(first []Point) {
	for _, p := range first {
		if i, ok := m.idx.byID[p.ID()]; ok && !slices.Contains(m.first, i) {
			m.first = append(m.first, i)
		}
	}
}

func (m *Bayes) Next() (Point, bool) {
	if m.left == 0 {
		return Point{}, false
	}
	i := -1
	if m.primed < len(m.first) {
		i = m.first[m.primed]
		m.primed++
	} else if n := len(m.obsY) - m.primed; n >= m.starts {
		climb := m.polish > 0 && len(m.obsY) >= m.polish
		if m.local > 0 && ((n-m.starts)%m.local == m.local-1 || climb) {
			i = m.bestNeighbour()
		}
		if i < 0 && m.slice > 0 && len(m.obsY) >= m.slice {
			i = m.bestExpectedImprovement(m.untriedInBestSlice())
		}
		if i < 0 {
			i = m.bestExpectedImprovement(m.untriedPoints())
		}
	}
	if n := len(m.obsY) - m.primed; i < 0 && n < m.starts {
		i = m.idx.spread(m.r, m.order, n, m.tried)
	}
	if i < 0 {
		i = untried(m.r, m.tried, m.left)
	}
	m.tried[i] = true
	m.left--
	m.last = i
	return m.idx.legal[i], true
}

// Budget keeps the last quarter of evals for climbing from the best point
// and, where the space names core axes, the quarter before it for the
// slice through the best point along them.
func (m *Bayes) Budget(evals int) {
	if q := evals / 4; q > 0 {
		m.polish = evals - q
		if slices.Contains(m.core, true) {
			m.slice = evals - 2*q
		}
	}
}

func (m *Bayes) Observe(res Result) {
	m.obsX = append(m.obsX, m.feats[m.last])
	m.obsY = append(m.obsY, logScore(res))
	m.obsI = append(m.obsI, m.last)
}

// Reobserve replaces the observation of res's point with res.
func (m *Bayes) Reobserve(res Result) {
	i, ok := m.idx.byID[res.ID]
	if !ok {
		return
	}
	for k, j := range m.obsI {
		if j == i {
			m.obsY[k] = logScore(res)
		}
	}
}

func logScore(res Result) float64 {
	if res.Status == OK && res.Score > 0 {
		return math.Log(res.Score)
	}
	return math.NaN()
}

// gp is a fitted Gaussian process with a squared-exponential kernel.
type gp struct {
	x      [][]float64
	alpha  *mat.VecDense
	chol   mat.Cholesky
	length float64
	mean   float64
	scale  float64
	noise  float64
}

func sqexp(a, b []float64, length float64) float64 {
	var d float64
	for i := range a {
		t := a[i] - b[i]
		d += t * t
	}
	return math.Exp(-d / (2 * length * length))
}

// fit standardises y and factorises the kernel matrix; it returns the log
// marginal likelihood, used to choose the length scale.
func fit(x [][]float64, y []float64, length float64) (*gp, float64, bool) {
	n := len(x)
	g := &gp{x: x, length: length, noise: 1e-3}
	g.mean, g.scale = stat.MeanStdDev(y, nil)
	if g.scale == 0 || math.IsNaN(g.scale) {
		g.scale = 1
	}
	k := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := sqexp(x[i], x[j], length)
			if i == j {
				v += g.noise
			}
			k.SetSym(i, j, v)
		}
	}
	if ok := g.chol.Factorize(k); !ok {
		return nil, 0, false
	}
	ys := mat.NewVecDense(n, nil)
	for i, v := range y {
		ys.SetVec(i, (v-g.mean)/g.scale)
	}
	g.alpha = mat.NewVecDense(n, nil)
	if err := g.chol.SolveVecTo(g.alpha, ys); err != nil {
		return nil, 0, false
	}
	ll := -0.5*mat.Dot(ys, g.alpha) - 0.5*g.chol.LogDet() - 0.5*float64(n)*math.Log(2*math.Pi)
	return g, ll, true
}

// model fits the process to the observations, rejected points set below
// the worst valid one, and returns it with the standardised best
// observation; nil before any point validated.
func (m *Bayes) model() (*gp, float64) {
	ys := append([]float64(nil), m.obsY...)
	lo := math.Inf(1)
	for _, y := range ys {
		if !math.IsNaN(y) {
			lo = math.Min(lo, y)
		}
	}
	if math.IsInf(lo, 1) {
		return nil, 0
	}
	for i, y := range ys {
		if math.IsNaN(y) {
			ys[i] = lo - 1
		}
	}
	var best *gp
	bestLL := math.Inf(-1)
	for _, length := range []float64{0.1, 0.2, 0.35, 0.6} {
		if g, ll, ok := fit(m.obsX, ys, length); ok && ll > bestLL {
			best, bestLL = g, ll
		}
	}
	if best == nil {
		return nil, 0
	}
	top := math.Inf(-1)
	for _, y := range ys {
		top = math.Max(top, (y-best.mean)/best.scale)
	}
	return best, top
}

// bestExpectedImprovement returns the candidate of highest expected
// improvement, or -1 for none.
func (m *Bayes) bestExpectedImprovement(cands []int) int {
	if len(cands) == 0 {
		return -1
	}
	best, top := m.model()
	if best == nil {
		return -1
	}
	mus, sds := best.predictAll(m.feats, cands)
	normal := distuv.UnitNormal
	pick, pickEI := -1, -1.0
	for c, i := range cands {
		mu, sd := mus[c], sds[c]
		z := (mu - top - 0.01) / sd
		ei := (mu-top-0.01)*normal.CDF(z) + sd*normal.Prob(z)
		if ei > pickEI {
			pick, pickEI = i, ei
		}
	}
	return pick
}

// predictAll returns the standardised mean and standard deviation at the
// features of every candidate, the variances from one triangular solve over
// all of them: solving for each point apart costs n^2 a point for n
// observations and made a proposal take seconds by a few hundred
// observations of a matmul space.
func (g *gp) predictAll(feats [][]float64, cands []int) (mu, sd []float64) {
	n := len(g.x)
	mu, sd = make([]float64, len(cands)), make([]float64, len(cands))
	if len(cands) == 0 {
		return mu, sd
	}
	// Row c of k is the kernel between candidate c and the observations.
	k := blas64.General{Rows: len(cands), Cols: n, Stride: n, Data: make([]float64, len(cands)*n)}
	alpha := g.alpha.RawVector()
	for c, i := range cands {
		row := k.Data[c*n : (c+1)*n]
		for j, xj := range g.x {
			row[j] = sqexp(feats[i], xj, g.length)
		}
		mu[c] = blas64.Dot(blas64.Vector{N: n, Inc: 1, Data: row}, alpha)
	}
	// With A = U^T U, k^T A^-1 k is the squared norm of k^T U^-1.
	var u mat.TriDense
	g.chol.UTo(&u)
	blas64.Trsm(blas.Right, blas.NoTrans, 1, u.RawTriangular(), k)
	for c := range cands {
		row := blas64.Vector{N: n, Inc: 1, Data: k.Data[c*n : (c+1)*n]}
		v := 1 + g.noise - blas64.Dot(row, row)
		sd[c] = math.Sqrt(math.Max(v, 1e-12))
	}
	return mu, sd
}

// climbFrom is how many of the best observations a neighbour step may
// start from: the model picks among their untried neighbours, so a climb
// can leave the best point's basin for the runner-up's when the model
// rates the latter's surroundings higher.
const climbFrom = 3

// bestNeighbour returns, of the untried neighbours of the climbFrom best
// observations that have any, the one of highest predicted mean, or -1.
// An observation's neighbours are the points one axis away; where those
// are all tried, the points two axes away (pointIndex.diagonals).
func (m *Bayes) bestNeighbour() int {
	var cands []int
	from := 0
	for _, k := range m.ranked() {
		near := m.untriedOf(m.idx.neighbours(m.obsI[k]))
		if len(near) == 0 {
			near = m.untriedOf(m.idx.diagonals(m.obsI[k]))
		}
		if len(near) == 0 {
			continue
		}
		cands = append(cands, near...)
		if from++; from == climbFrom {
			break
		}
	}
	if len(cands) == 0 {
		return -1
	}
	g, _ := m.model()
	if g == nil {
		return -1
	}
	mus, _ := g.predictAll(m.feats, cands)
	pick, pickMu := -1, math.Inf(-1)
	for c, j := range cands {
		if mus[c] > pickMu {
			pick, pickMu = j, mus[c]
		}
	}
	return pick
}

// untriedInBestSlice returns the untried legal points that hold the best
// observation's value on every axis but the core ones, or nil before any
// validated.
func (m *Bayes) untriedInBestSlice() []int {
	order := m.ranked()
	if len(order) == 0 {
		return nil
	}
	at := m.idx.legal[m.obsI[order[0]]].idx
	var out []int
next:
	for j, q := range m.idx.legal {
		if m.tried[j] {
			continue
		}
		for d, v := range q.idx {
			if !m.core[d] && v != at[d] {
				continue next
			}
		}
		out = append(out, j)
	}
	return out
}

// ranked returns the validated observations, best first.
func (m *Bayes) ranked() []int {
	order := make([]int, 0, len(m.obsY))
	for k, y := range m.obsY {
		if !math.IsNaN(y) {
			order = append(order, k)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(m.obsY[b], m.obsY[a]) })
	return order
}

// untriedOf keeps the untried points of legal indexes is.
func (m *Bayes) untriedOf(is []int) []int {
	var out []int
	for _, j := range is {
		if !m.tried[j] {
			out = append(out, j)
		}
	}
	return out
}

// untriedPoints returns every untried legal index.
func (m *Bayes) untriedPoints() []int {
	var out []int
	for j, t := range m.tried {
		if !t {
			out = append(out, j)
		}
	}
	return out
}
