// tune kernel matmul wgx=16/wgy=4/rm=2/rn=1/tk=4/vec=1/staged=false/prefetch=false/unroll=false
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

@compute @workgroup_size(16, 4, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * 8u;
  let col0 = wid.x * 16u;
  let kv = dims.k / 1u;
  let nv = dims.n / 1u;
  var acc: array<f32, 2>;
  var av: array<f32, 2>;
  var bv: array<f32, 1>;
  // Unstaged: every thread reads its operands from global memory; rows and
  // columns past the edge are clamped on load and never stored.
  var ar: array<f32, 2>;
  for (var kb = 0u; kb < kv; kb = kb + 1u) {
    for (var i = 0u; i < 2u; i = i + 1u) {
      for (var l = 0u; l < 1u; l = l + 1u) {
        ar[i * 1u + l] = a[min(row0 + (i * 4u + ty) * 1u + l, dims.m - 1u) * kv + kb];
      }
    }
    for (var cc = 0u; cc < 1u; cc = cc + 1u) {
      for (var j = 0u; j < 1u; j = j + 1u) {
        bv[j] = b[(kb * 1u + cc) * nv + min(col0 / 1u + j * 16u + tx, nv - 1u)];
      }
      for (var r = 0u; r < 2u; r = r + 1u) {
        let ar_r = ar[r];
        let s = ar_r;
        for (var j = 0u; j < 1u; j = j + 1u) {
          acc[r * 1u + j] = fma(s, bv[j], acc[r * 1u + j]);
        }
      }
    }
  }
  // Store the block; rows and columns past the edge are skipped.
  for (var i = 0u; i < 2u; i = i + 1u) {
    for (var l = 0u; l < 1u; l = l + 1u) {
      let row = row0 + (i * 4u + ty) * 1u + l;
      if (row < dims.m) {
        for (var j = 0u; j < 1u; j = j + 1u) {
          let v = acc[(i * 1u + l) * 1u + j];
          let col = col0 + (j * 16u + tx) * 1u;
          if (col < dims.n) {
            c[row * dims.n + col] = v;
          }
        }
      }
    }
  }
}
