// tune kernel matmul wgx=8/wgy=8/rm=2/rn=2/tk=4/vec=2/staged=true/prefetch=false/unroll=true
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector.
var<workgroup> tileA: array<vec2<f32>, 32>;
var<workgroup> tileB: array<vec2<f32>, 32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 16u;
  let col0 = wid.x * 16u;
  let kv = dims.k / 2u;
  let nv = dims.n / 2u;
  var acc: array<vec2<f32>, 2>;
  var av: array<vec2<f32>, 1>;
  var bv: array<vec2<f32>, 1>;
  let tid = ty * 8u + tx;
  let tiles = (dims.k + 4u - 1u) / 4u;
  var pa: array<vec2<f32>, 1>;
  var pb: array<vec2<f32>, 1>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 4u;
    // Fetch A (16 rows x 2 vectors along k) and B (4 rows x
    // 8 vectors along n) at k = k0 into registers.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      let gk = (k0) / 2u + idx % 2u;
      var v = vec2<f32>(0.0);
      if (idx < 32u && gk < kv) {
        v = a[min(row0 + idx / 2u, dims.m - 1u) * kv + gk];
      }
      pa[l] = v;
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      let gk = k0 + idx / 8u;
      var v = vec2<f32>(0.0);
      if (idx < 32u && gk < dims.k) {
        v = b[gk * nv + min(col0 / 2u + idx % 8u, nv - 1u)];
      }
      pb[l] = v;
    }
    // Store the fetched registers into the tiles, A transposed to [k][m].
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (idx < 32u) {
        let r = idx / 2u;
        let kk = idx % 2u;
        let v = pa[l];
        tileA[(kk * 2u + 0u) * 8u + r / 2u][r % 2u] = v[0];
        tileA[(kk * 2u + 1u) * 8u + r / 2u][r % 2u] = v[1];
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (idx < 32u) {
        tileB[idx] = pb[l];
      }
    }
    workgroupBarrier();
    av[0] = tileA[0u + 0u + ty];
    bv[0] = tileB[0u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[8u + 0u + ty];
    bv[0] = tileB[8u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[16u + 0u + ty];
    bv[0] = tileB[16u + 0u + tx];
    acc[0] = fma(vec2<f32>(av[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec2<f32>(av[0][1]), bv[0], acc[1]);
    av[0] = tileA[24u + 0u + ty];
    bv[0] = tileB[24u + 0u + tx];
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
          let col = col0 + (j * 8u + tx) * 2u;
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
