// tune kernel gemm wgx=8/wgy=8/rm=4/rn=4/tk=32/vec=4/prefetch=false/unroll=false int4-g32-sym
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  glen: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector;
// W dequantized as [k][n], so that a thread's columns are one vector.
var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileW: array<vec4<f32>, 256>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 8u + tx;
  let row0 = wid.y * 32u;
  let col0 = wid.x * 32u;
  let kv = dims.k / 4u;
  let wpr = dims.k / 8u;
  let gpr = dims.k / dims.glen;
  let tiles = dims.k / 32u;
  var acc: array<vec4<f32>, 4>;
  var av: array<vec4<f32>, 1>;
  var bv: array<vec4<f32>, 1>;
  var pa: array<vec4<f32>, 4>;
  var pw: array<u32, 2>;
  var ps: array<f32, 2>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 32u;
    // Fetch A (32 rows x 8 vectors along k) and W (32 rows x
    // 4 words along k, with their scales) at k = k0 into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 4u; l = l + 1u) {
      let idx = l * 64u + tid;
      pa[l] = a[min(row0 + idx / 8u, dims.m - 1u) * kv + (k0) / 4u + idx % 8u];
    }
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 64u + tid;
      let n = min(col0 + idx / 4u, dims.n - 1u);
      let kw = (k0) / 8u + idx % 4u;
      let g = n * gpr + kw * 8u / 32u;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
    }
    // Store the fetched registers into the tiles: A transposed to [k][m], W
    // dequantized to [k][n].
    for (var l = 0u; l < 4u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (true) {
        let r = idx / 8u;
        let kk = idx % 8u;
        let v = pa[l];
        tileA[(kk * 4u + 0u) * 8u + r / 4u][r % 4u] = v[0];
        tileA[(kk * 4u + 1u) * 8u + r / 4u][r % 4u] = v[1];
        tileA[(kk * 4u + 2u) * 8u + r / 4u][r % 4u] = v[2];
        tileA[(kk * 4u + 3u) * 8u + r / 4u][r % 4u] = v[3];
      }
    }
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (true) {
        let n = idx / 4u;
        let b = (idx % 4u) * 64u + n / 4u;
        let comp = n % 4u;
        let u = pw[l];
        let s = ps[l];
        tileW[b + 0u][comp] = (f32(u & 0xfu) - 8.0) * s;
        tileW[b + 8u][comp] = (f32((u >> 4u) & 0xfu) - 8.0) * s;
        tileW[b + 16u][comp] = (f32((u >> 8u) & 0xfu) - 8.0) * s;
        tileW[b + 24u][comp] = (f32((u >> 12u) & 0xfu) - 8.0) * s;
        tileW[b + 32u][comp] = (f32((u >> 16u) & 0xfu) - 8.0) * s;
        tileW[b + 40u][comp] = (f32((u >> 20u) & 0xfu) - 8.0) * s;
        tileW[b + 48u][comp] = (f32((u >> 24u) & 0xfu) - 8.0) * s;
        tileW[b + 56u][comp] = (f32(u >> 28u) - 8.0) * s;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk = kk + 1u) {
    av[0] = tileA[kk * 8u + 0u + ty];
    bv[0] = tileW[kk * 8u + 0u + tx];
    acc[0] = fma(vec4<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(av[0][1]), bv[0], acc[1]);
    acc[2] = fma(vec4<f32>(av[0][2]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(av[0][3]), bv[0], acc[3]);
    }
    workgroupBarrier();
  }
  // Store the block; rows and columns past the edge are skipped.
  for (var i = 0u; i < 1u; i = i + 1u) {
    for (var l = 0u; l < 4u; l = l + 1u) {
      let row = row0 + (i * 8u + ty) * 4u + l;
      if (row < dims.m) {
        for (var j = 0u; j < 1u; j = j + 1u) {
          let v = acc[(i * 4u + l) * 1u + j];
          let col = col0 + (j * 8u + tx) * 4u;
          for (var e = 0u; e < 4u; e = e + 1u) {
            if (col + e < dims.n) {
              c[row * dims.n + col + e] = v[e];
            }
          }
        }
      }
    }
  }
}
