// tune kernel matmul wgx=16/wgy=16/rm=8/rn=8/tk=8/vec=4/staged=true/prefetch=false/unroll=true
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
var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 128u;
  let col0 = wid.x * 128u;
  let kv = dims.k / 4u;
  let nv = dims.n / 4u;
  var acc: array<vec4<f32>, 16>;
  var av: array<vec4<f32>, 2>;
  var bv: array<vec4<f32>, 2>;
  let tid = ty * 16u + tx;
  let tiles = (dims.k + 8u - 1u) / 8u;
  var pa: array<vec4<f32>, 1>;
  var pb: array<vec4<f32>, 1>;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let k0 = t * 8u;
    // Fetch A (128 rows x 2 vectors along k) and B (8 rows x
    // 32 vectors along n) at k = k0 into registers.
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      let gk = (k0) / 4u + idx % 2u;
      var v = vec4<f32>(0.0);
      if (gk < kv) {
        v = a[min(row0 + idx / 2u, dims.m - 1u) * kv + gk];
      }
      pa[l] = v;
    }
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      let gk = k0 + idx / 32u;
      var v = vec4<f32>(0.0);
      if (gk < dims.k) {
        v = b[gk * nv + min(col0 / 4u + idx % 32u, nv - 1u)];
      }
      pb[l] = v;
    }
    // Store the fetched registers into the tiles, A transposed to [k][m].
    for (var l = 0u; l < 1u; l = l + 1u) {
      let idx = l * 256u + tid;
      if (true) {
        let r = idx / 2u;
        let kk = idx % 2u;
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
        tileB[idx] = pb[l];
      }
    }
    workgroupBarrier();
    av[0] = tileA[0u + 0u + ty];
    av[1] = tileA[0u + 16u + ty];
    bv[0] = tileB[0u + 0u + tx];
    bv[1] = tileB[0u + 16u + tx];
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
    av[0] = tileA[32u + 0u + ty];
    av[1] = tileA[32u + 16u + ty];
    bv[0] = tileB[32u + 0u + tx];
    bv[1] = tileB[32u + 16u + tx];
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
    av[0] = tileA[64u + 0u + ty];
    av[1] = tileA[64u + 16u + ty];
    bv[0] = tileB[64u + 0u + tx];
    bv[1] = tileB[64u + 16u + tx];
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
    av[0] = tileA[96u + 0u + ty];
    av[1] = tileA[96u + 16u + ty];
    bv[0] = tileB[96u + 0u + tx];
    bv[1] = tileB[96u + 16u + tx];
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
    av[0] = tileA[128u + 0u + ty];
    av[1] = tileA[128u + 16u + ty];
    bv[0] = tileB[128u + 0u + tx];
    bv[1] = tileB[128u + 16u + tx];
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
    av[0] = tileA[160u + 0u + ty];
    av[1] = tileA[160u + 16u + ty];
    bv[0] = tileB[160u + 0u + tx];
    bv[1] = tileB[160u + 16u + tx];
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
    av[0] = tileA[192u + 0u + ty];
    av[1] = tileA[192u + 16u + ty];
    bv[0] = tileB[192u + 0u + tx];
    bv[1] = tileB[192u + 16u + tx];
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
    av[0] = tileA[224u + 0u + ty];
    av[1] = tileA[224u + 16u + ty];
    bv[0] = tileB[224u + 0u + tx];
    bv[1] = tileB[224u + 16u + tx];
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
