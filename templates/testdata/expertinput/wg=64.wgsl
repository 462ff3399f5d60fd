// tune kernel expertinput wg=64
struct Dims {
  rows: u32,
  dim: u32,
  k: u32,
  expert: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> chosen: array<u32>;
@group(0) @binding(3) var<storage, read> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= dims.rows * dims.dim) {
    return;
  }
  let r = i / dims.dim;
  var w = 0.0;
  for (var j = 0u; j < dims.k; j = j + 1u) {
    if (chosen[r * dims.k + j] == dims.expert) {
      w = scores[r * dims.k + j];
    }
  }
  out[i] = x[i] * w;
}
