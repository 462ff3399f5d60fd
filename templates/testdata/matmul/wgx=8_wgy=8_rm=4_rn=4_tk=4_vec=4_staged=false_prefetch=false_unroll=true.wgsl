// tune kernel matmul wgx=8/wgy=8/rm=4/rn=4/tk=4/vec=4/staged=false/prefetch=false/unroll=true
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

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 32u;
  let col0 = wid.x * 32u;
  let kv = dims.k / 4u;
  let nv = dims.n / 4u;
  var acc: array<vec4<f32>, 4>;
  var av: array<vec4<f32>, 1>;
  var bv: array<vec4<f32>, 1>;
  // Unstaged: every thread reads its operands from global memory; rows and
  // columns past the edge are clamped on load and never stored.
  var ar: array<vec4<f32>, 4>;
  for (var kb = 0u; kb < kv; kb = kb + 1u) {
    ar[0] = a[min(row0 + (0u + ty) * 4u + 0u, dims.m - 1u) * kv + kb];
    ar[1] = a[min(row0 + (0u + ty) * 4u + 1u, dims.m - 1u) * kv + kb];
    ar[2] = a[min(row0 + (0u + ty) * 4u + 2u, dims.m - 1u) * kv + kb];
    ar[3] = a[min(row0 + (0u + ty) * 4u + 3u, dims.m - 1u) * kv + kb];
    bv[0] = b[(kb * 4u + 0u) * nv + min(col0 / 4u + 0u + tx, nv - 1u)];
    acc[0] = fma(vec4<f32>(ar[0][0]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(ar[1][0]), bv[0], acc[1]);
    acc[2] = fma(vec4<f32>(ar[2][0]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(ar[3][0]), bv[0], acc[3]);
    bv[0] = b[(kb * 4u + 1u) * nv + min(col0 / 4u + 0u + tx, nv - 1u)];
    acc[0] = fma(vec4<f32>(ar[0][1]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(ar[1][1]), bv[0], acc[1]);
    acc[2] = fma(vec4<f32>(ar[2][1]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(ar[3][1]), bv[0], acc[3]);
    bv[0] = b[(kb * 4u + 2u) * nv + min(col0 / 4u + 0u + tx, nv - 1u)];
    acc[0] = fma(vec4<f32>(ar[0][2]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(ar[1][2]), bv[0], acc[1]);
    acc[2] = fma(vec4<f32>(ar[2][2]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(ar[3][2]), bv[0], acc[3]);
    bv[0] = b[(kb * 4u + 3u) * nv + min(col0 / 4u + 0u + tx, nv - 1u)];
    acc[0] = fma(vec4<f32>(ar[0][3]), bv[0], acc[0]);
    acc[1] = fma(vec4<f32>(ar[1][3]), bv[0], acc[1]);
    acc[2] = fma(vec4<f32>(ar[2][3]), bv[0], acc[2]);
    acc[3] = fma(vec4<f32>(ar[3][3]), bv[0], acc[3]);
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
