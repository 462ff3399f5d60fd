// tune kernel gemm wgx=16/wgy=8/rm=2/rn=2/tk=16/vec=2/prefetch=true/unroll=true int2-g64-asym
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  glen: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> mins: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector;
// W dequantized as [k][n], so that a thread's columns are one vector.
var<workgroup> tileA: array<vec2<f32>, 128>;
var<workgroup> tileW: array<vec2<f32>, 256>;

@compute @workgroup_size(16, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let row0 = wid.y * 16u;
  let col0 = wid.x * 32u;
  let kv = dims.k / 2u;
  let wpr = dims.k / 16u;
  let gpr = dims.k / dims.glen;
  let tiles = dims.k / 16u;
  var acc: array<vec2<f32>, 2>;
  var av: array<vec2<f32>, 1>;
  var bv: array<vec2<f32>, 1>;
  var pa: array<vec2<f32>, 1>;
  var pw: array<u32, 1>;
  var ps: array<f32, 1>;
  var pm: array<f32, 1>;
  {
    let k0 = 0u;
    // Fetch A (16 rows x 8 vectors along k) and W (32 rows x
    // 1 words along k, with their scales) at k = k0 into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      pa[l] = a[min(row0 + idx / 8u, dims.m - 1u) * kv + (k0) / 2u + idx % 8u];
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      let n = min(col0 + idx / 1u, dims.n - 1u);
      let kw = (k0) / 16u + idx % 1u;
      let g = n * gpr + kw * 16u / 64u;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
      pm[l] = mins[g];
    }
  }
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 16u;
    // Store the fetched registers into the tiles: A transposed to [k][m], W
    // dequantized to [k][n].
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      if (true) {
        let r = idx / 8u;
        let kk = idx % 8u;
        let v = pa[l];
        tileA[(kk * 2u + 0u) * 8u + r / 2u][r % 2u] = v[0];
        tileA[(kk * 2u + 1u) * 8u + r / 2u][r % 2u] = v[1];
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      if (idx < 32u) {
        let n = idx / 1u;
        let b = (idx % 1u) * 256u + n / 2u;
        let comp = n % 2u;
        let u = pw[l];
        let s = ps[l];
        let mn = pm[l];
        tileW[b + 0u][comp] = f32(u & 0x3u) * s + mn;
        tileW[b + 16u][comp] = f32((u >> 2u) & 0x3u) * s + mn;
        tileW[b + 32u][comp] = f32((u >> 4u) & 0x3u) * s + mn;
        tileW[b + 48u][comp] = f32((u >> 6u) & 0x3u) * s + mn;
        tileW[b + 64u][comp] = f32((u >> 8u) & 0x3u) * s + mn;
        tileW[b + 80u][comp] = f32((u >> 10u) & 0x3u) * s + mn;
        tileW[b + 96u][comp] = f32((u >> 12u) & 0x3u) * s + mn;
        tileW[b + 112u][comp] = f32((u >> 14u) & 0x3u) * s + mn;
        tileW[b + 128u][comp] = f32((u >> 16u) & 0x3u) * s + mn;
        tileW[b + 144u][comp] = f32((u >> 18u) & 0x3u) * s + mn;
        tileW[b + 160u][comp] = f32((u >> 20u) & 0x3u) * s + mn;
        tileW[b + 176u][comp] = f32((u >> 22u) & 0x3u) * s + mn;
        tileW[b + 192u][comp] = f32((u >> 24u) & 0x3u) * s + mn;
        tileW[b + 208u][comp] = f32((u >> 26u) & 0x3u) * s + mn;
        tileW[b + 224u][comp] = f32((u >> 28u) & 0x3u) * s + mn;
        tileW[b + 240u][comp] = f32(u >> 30u) * s + mn;
      }
    }
    workgroupBarrier();
    // Fetch the next tile into registers while this one is computed.
    if (t + 1u < tiles) {
    // Fetch A (16 rows x 8 vectors along k) and W (32 rows x
    // 1 words along k, with their scales) at k = k0 + 16u into
    // registers. Every index is in bounds, the clamped rows and a ragged last
    // round included, so the loads need no branch.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      pa[l] = a[min(row0 + idx / 8u, dims.m - 1u) * kv + (k0 + 16u) / 2u + idx % 8u];
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      let n = min(col0 + idx / 1u, dims.n - 1u);
      let kw = (k0 + 16u) / 16u + idx % 1u;
      let g = n * gpr + kw * 16u / 64u;
      pw[l] = w[n * wpr + kw];
      ps[l] = scales[g];
      pm[l] = mins[g];
    }
    }
    av[0] = tileA[0u + 0u + ty];
    bv[0] = tileW[0u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[8u + 0u + ty];
    bv[0] = tileW[16u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[16u + 0u + ty];
    bv[0] = tileW[32u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[24u + 0u + ty];
    bv[0] = tileW[48u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[32u + 0u + ty];
    bv[0] = tileW[64u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[40u + 0u + ty];
    bv[0] = tileW[80u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[48u + 0u + ty];
    bv[0] = tileW[96u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[56u + 0u + ty];
    bv[0] = tileW[112u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[64u + 0u + ty];
    bv[0] = tileW[128u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[72u + 0u + ty];
    bv[0] = tileW[144u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[80u + 0u + ty];
    bv[0] = tileW[160u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[88u + 0u + ty];
    bv[0] = tileW[176u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[96u + 0u + ty];
    bv[0] = tileW[192u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[104u + 0u + ty];
    bv[0] = tileW[208u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[112u + 0u + ty];
    bv[0] = tileW[224u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[120u + 0u + ty];
    bv[0] = tileW[240u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    workgroupBarrier();
  }
  // Store the block; rows and columns past the edge are skipped.
  for (var i = 0u; i < 1u; i = i + 1u) {
    for (var l = 0u; l < 2u; l = l + 1u) {
      let row = row0 + (i * 8u + ty) * 2u + l;
      if (row < dims.m) {
        for (var j = 0u; j < 1u; j = j + 1u) {
          let v = acc[(i * 2u + l) * 1u + j];
          let col = col0 + (j * 16u + tx) * 2u;
          for (var e = 0u; e < 2u; e = e + 1u) {
            if (col + e < dims.n) {
              c[row * dims.n + col + e] = v[e];
            }
          }
        }
      }
    }
  }
}
