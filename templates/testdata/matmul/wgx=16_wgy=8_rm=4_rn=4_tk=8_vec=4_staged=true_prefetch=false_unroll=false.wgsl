// tune kernel matmul wgx=16/wgy=8/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=false/unroll=false
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector.
var<workgroup> tileA: array<vec4<f32>, 64>;
var<workgroup> tileB: array<vec4<f32>, 128>;

@compute @workgroup_size(16, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 32u;
  let col0 = wid.x * 64u;
  let kv = dims.k / 4u;
  let nv = dims.n / 4u;
  var acc: array<vec4<f32>, 4>;
  var av: array<vec4<f32>, 1>;
  var bv: array<vec4<f32>, 1>;
  let tid = ty * 16u + tx;
  let tiles = (dims.k + 8u - 1u) / 8u;
  var pa: array<vec4<f32>, 1>;
  var pb: array<vec4<f32>, 1>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 8u;
    // Fetch A (32 rows x 2 vectors along k) and B (8 rows x
    // 16 vectors along n) at k = k0 into registers.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      let gk = (k0) / 4u + idx % 2u;
      var v = vec4<f32>(0.0);
      if (idx < 64u && gk < kv) {
        v = a[min(row0 + idx / 2u, dims.m - 1u) * kv + gk];
      }
      pa[l] = v;
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      let gk = k0 + idx / 16u;
      var v = vec4<f32>(0.0);
      if (gk < dims.k) {
        v = b[gk * nv + min(col0 / 4u + idx % 16u, nv - 1u)];
      }
      pb[l] = v;
    }
    // Store the fetched registers into the tiles, A transposed to [k][m].
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      if (idx < 64u) {
        let r = idx / 2u;
        let kk = idx % 2u;
        let v = pa[l];
        tileA[(kk * 4u + 0u) * 8u + r / 4u][r % 4u] = v[0];
        tileA[(kk * 4u + 1u) * 8u + r / 4u][r % 4u] = v[1];
        tileA[(kk * 4u + 2u) * 8u + r / 4u][r % 4u] = v[2];
        tileA[(kk * 4u + 3u) * 8u + r / 4u][r % 4u] = v[3];
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 128u + tid;
      if (true) {
        tileB[idx] = pb[l];
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 8u; kk = kk + 1u) {
      for (var i = 0u; i < 1u; i = i + 1u) {
        av[i] = tileA[kk * 8u + i * 8u + ty];
      }
      for (var j = 0u; j < 1u; j = j + 1u) {
        bv[j] = tileB[kk * 16u + j * 16u + tx];
      }
      for (var i = 0u; i < 1u; i = i + 1u) {
        let ai = av[i];
        for (var l = 0u; l < 4u; l = l + 1u) {
          let s = vec4<f32>(ai[l]);
          for (var j = 0u; j < 1u; j = j + 1u) {
            let x = (i * 4u + l) * 1u + j;
            acc[x] = fma(s, bv[j], acc[x]);
          }
        }
      }
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
