// tune kernel matmul wgx=8/wgy=8/rm=1/rn=1/tk=8/vec=1/staged=true/prefetch=false/unroll=false
struct Dims {
  m: u32,
  n: u32,
  k: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// A is stored transposed, [k][m], so that a thread's rows are one vector.
var<workgroup> tileA: array<f32, 64>;
var<workgroup> tileB: array<f32, 64>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 8u;
  let col0 = wid.x * 8u;
  let kv = dims.k / 1u;
  let nv = dims.n / 1u;
  var acc: array<f32, 1>;
  var av: array<f32, 1>;
  var bv: array<f32, 1>;
  let tid = ty * 8u + tx;
  let tiles = (dims.k + 8u - 1u) / 8u;
  var pa: array<f32, 1>;
  var pb: array<f32, 1>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 8u;
    // Fetch A (8 rows x 8 vectors along k) and B (8 rows x
    // 8 vectors along n) at k = k0 into registers.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      let gk = (k0) / 1u + idx % 8u;
      var v = f32(0.0);
      if (gk < kv) {
        v = a[min(row0 + idx / 8u, dims.m - 1u) * kv + gk];
      }
      pa[l] = v;
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      let gk = k0 + idx / 8u;
      var v = f32(0.0);
      if (gk < dims.k) {
        v = b[gk * nv + min(col0 / 1u + idx % 8u, nv - 1u)];
      }
      pb[l] = v;
    }
    // Store the fetched registers into the tiles, A transposed to [k][m].
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
      if (true) {
        let r = idx / 8u;
        let kk = idx % 8u;
        let v = pa[l];
        tileA[kk * 8u + r] = v;
      }
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 64u + tid;
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
        bv[j] = tileB[kk * 8u + j * 8u + tx];
      }
      for (var i = 0u; i < 1u; i = i + 1u) {
        let ai = av[i];
        for (var l = 0u; l < 1u; l = l + 1u) {
          let s = ai;
          for (var j = 0u; j < 1u; j = j + 1u) {
            let x = (i * 1u + l) * 1u + j;
            acc[x] = fma(s, bv[j], acc[x]);
          }
        }
      }
    }
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
