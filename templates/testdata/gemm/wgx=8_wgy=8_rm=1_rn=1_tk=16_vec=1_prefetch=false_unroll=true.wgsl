// tune kernel gemm wgx=8/wgy=8/rm=1/rn=1/tk=16/vec=1/prefetch=false/unroll=true int8-row-asym
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  glen: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> mins: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector;
// W dequantized as [k][n], so that a thread's columns are one vector.
var<workgroup> tileA: array<f32, 128>;
var<workgroup> tileW: array<f32, 128>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 8u + tx;
  let row0 = wid.y * 8u;
  let col0 = wid.x * 8u;
  let kv = dims.k / 1u;
  let wpr = dims.k / 4u;
  let gpr = dims.k / dims.glen;
  let tiles = dims.k / 16u;
  var acc: array<f32, 1>;
  var av: array<f32, 1>;
  var bv: array<f32, 1>;
  var pa: array<f32, 2>;
  var pw: array<u32, 1>;
  var ps: array<f32, 1>;
  var pm: array<f32, 1>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 16u;
    // Fetch A (8 rows x 16 vectors along k) and W (8 rows x
    // 4 words along k, with their scales) at k = k0 into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 64u + tid;
      pa[l] = a[min(row0 + idx / 16u, dims.m - 1u) * kv + (k0) / 1u + idx % 16u];
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      let n = min(col0 + idx / 4u, dims.n - 1u);
      let kw = (k0) / 4u + idx % 4u;
      let g = n;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
      pm[l] = mins[g];
    }
    // Store the fetched registers into the tiles: A transposed to [k][m], W
    // dequantized to [k][n].
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (true) {
        let r = idx / 16u;
        let kk = idx % 16u;
        let v = pa[l];
        tileA[kk * 8u + r] = v;
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (idx < 32u) {
        let n = idx / 4u;
        let b = (idx % 4u) * 32u + n / 1u;
        let u = pw[l];
        let s = ps[l];
        let mn = pm[l];
        tileW[b + 0u] = f32(u & 0xffu) * s + mn;
        tileW[b + 8u] = f32((u >> 8u) & 0xffu) * s + mn;
        tileW[b + 16u] = f32((u >> 16u) & 0xffu) * s + mn;
        tileW[b + 24u] = f32(u >> 24u) * s + mn;
      }
    }
    workgroupBarrier();
    av[0] = tileA[0u + 0u + ty];
    bv[0] = tileW[0u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[8u + 0u + ty];
    bv[0] = tileW[8u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[16u + 0u + ty];
    bv[0] = tileW[16u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[24u + 0u + ty];
    bv[0] = tileW[24u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[32u + 0u + ty];
    bv[0] = tileW[32u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[40u + 0u + ty];
    bv[0] = tileW[40u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[48u + 0u + ty];
    bv[0] = tileW[48u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[56u + 0u + ty];
    bv[0] = tileW[56u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[64u + 0u + ty];
    bv[0] = tileW[64u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[72u + 0u + ty];
    bv[0] = tileW[72u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[80u + 0u + ty];
    bv[0] = tileW[80u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[88u + 0u + ty];
    bv[0] = tileW[88u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[96u + 0u + ty];
    bv[0] = tileW[96u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[104u + 0u + ty];
    bv[0] = tileW[104u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[112u + 0u + ty];
    bv[0] = tileW[112u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    av[0] = tileA[120u + 0u + ty];
    bv[0] = tileW[120u + 0u + tx];
    acc[0] = fma(av[0], bv[0], acc[0]);
    workgroupBarrier();
  }
  // Store the block; rows and columns past the edge are skipped.
  for (var i = 0u; i < 1u; i = i + 1u) {
    for (var l = 0u; l < 1u; l = l + 1u) {
      let row = row0 + (i * 8u + ty) * 1u + l;
      if (row < dims.m) {
        for (var j = 0u; j < 1u; j = j + 1u) {
          let v = acc[(i * 1u + l) * 1u + j];
          let col = col0 + (j * 8u + tx) * 1u;
          if (col < dims.n) {
            c[row * dims.n + col] = v;
          }
        }
      }
    }
  }
}
