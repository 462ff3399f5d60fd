// tune kernel gemm wgx=16/wgy=16/rm=8/rn=8/tk=16/vec=4/prefetch=true/unroll=false int4-g128-sym
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
var<workgroup> tileA: array<vec4<f32>, 512>;
var<workgroup> tileW: array<vec4<f32>, 512>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * 128u;
  let col0 = wid.x * 128u;
  let kv = dims.k / 4u;
  let wpr = dims.k / 8u;
  let gpr = dims.k / dims.glen;
  let tiles = dims.k / 16u;
  var acc: array<vec4<f32>, 16>;
  var av: array<vec4<f32>, 2>;
  var bv: array<vec4<f32>, 2>;
  var pa: array<vec4<f32>, 2>;
  var pw: array<u32, 1>;
  var ps: array<f32, 1>;
  {
    let k0 = 0u;
    // Fetch A (128 rows x 4 vectors along k) and W (128 rows x
    // 2 words along k, with their scales) at k = k0 into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 256u + tid;
      pa[l] = a[min(row0 + idx / 4u, dims.m - 1u) * kv + (k0) / 4u + idx % 4u];
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      let n = min(col0 + idx / 2u, dims.n - 1u);
      let kw = (k0) / 8u + idx % 2u;
      let g = n * gpr + kw * 8u / 128u;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
    }
  }
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 16u;
    // Store the fetched registers into the tiles: A transposed to [k][m], W
    // dequantized to [k][n].
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 256u + tid;
      if (true) {
        let r = idx / 4u;
        let kk = idx % 4u;
        let v = pa[l];
        tileA[(kk * 4u + 0u) * 32u + r / 4u][r % 4u] = v[0];
        tileA[(kk * 4u + 1u) * 32u + r / 4u][r % 4u] = v[1];
        tileA[(kk * 4u + 2u) * 32u + r / 4u][r % 4u] = v[2];
        tileA[(kk * 4u + 3u) * 32u + r / 4u][r % 4u] = v[3];
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      if (true) {
        let n = idx / 2u;
        let b = (idx % 2u) * 256u + n / 4u;
        let comp = n % 4u;
        let u = pw[l];
        let s = ps[l];
        tileW[b + 0u][comp] = (f32(u & 0xfu) - 8.0) * s;
        tileW[b + 32u][comp] = (f32((u >> 4u) & 0xfu) - 8.0) * s;
        tileW[b + 64u][comp] = (f32((u >> 8u) & 0xfu) - 8.0) * s;
        tileW[b + 96u][comp] = (f32((u >> 12u) & 0xfu) - 8.0) * s;
        tileW[b + 128u][comp] = (f32((u >> 16u) & 0xfu) - 8.0) * s;
        tileW[b + 160u][comp] = (f32((u >> 20u) & 0xfu) - 8.0) * s;
        tileW[b + 192u][comp] = (f32((u >> 24u) & 0xfu) - 8.0) * s;
        tileW[b + 224u][comp] = (f32(u >> 28u) - 8.0) * s;
      }
    }
    workgroupBarrier();
    // Fetch the next tile into registers while this one is computed.
    if (t + 1u < tiles) {
    // Fetch A (128 rows x 4 vectors along k) and W (128 rows x
    // 2 words along k, with their scales) at k = k0 + 16u into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 2u; l = l + 1u) {
      let idx = l * 256u + tid;
      pa[l] = a[min(row0 + idx / 4u, dims.m - 1u) * kv + (k0 + 16u) / 4u + idx % 4u];
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      let n = min(col0 + idx / 2u, dims.n - 1u);
      let kw = (k0 + 16u) / 8u + idx % 2u;
      let g = n * gpr + kw * 8u / 128u;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
    }
    }
    for (var kk = 0u; kk < 16u; kk = kk + 1u) {
    av[0] = tileA[kk * 32u + 0u + ty];
    av[1] = tileA[kk * 32u + 16u + ty];
    bv[0] = tileW[kk * 32u + 0u + tx];
    bv[1] = tileW[kk * 32u + 16u + tx];
    acc[0] = fma(vec4<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(av[0][0]), bv[1], acc[1]);
    acc[2] = fma(vec4<f32>(av[0][1]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(av[0][1]), bv[1], acc[3]);
    acc[4] = fma(vec4<f32>(av[0][2]), bv[0], acc[4]);
    acc[5] = fma(vec4<f32>(av[0][2]), bv[1], acc[5]);
    acc[6] = fma(vec4<f32>(av[0][3]), bv[0], acc[6]);
    acc[7] = fma(vec4<f32>(av[0][3]), bv[1], acc[7]);
    acc[8] = fma(vec4<f32>(av[1][0]), bv[0], acc[8]);
    acc[9] = fma(vec4<f32>(av[1][0]), bv[1], acc[9]);
    acc[10] = fma(vec4<f32>(av[1][1]), bv[0], acc[10]);
    acc[11] = fma(vec4<f32>(av[1][1]), bv[1], acc[11]);
    acc[12] = fma(vec4<f32>(av[1][2]), bv[0], acc[12]);
    acc[13] = fma(vec4<f32>(av[1][2]), bv[1], acc[13]);
    acc[14] = fma(vec4<f32>(av[1][3]), bv[0], acc[14]);
    acc[15] = fma(vec4<f32>(av[1][3]), bv[1], acc[15]);
    }
    workgroupBarrier();
  }
  // Store the block; rows and columns past the edge are skipped.
  for (var i = 0u; i < 2u; i = i + 1u) {
    for (var l = 0u; l < 4u; l = l + 1u) {
      let row = row0 + (i * 16u + ty) * 4u + l;
      if (row < dims.m) {
        for (var j = 0u; j < 2u; j = j + 1u) {
          let v = acc[(i * 4u + l) * 2u + j];
          let col = col0 + (j * 16u + tx) * 4u;
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
