// tune kernel packedswiglu wg=64
struct Dims {
  n: u32,
  rows: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i < dims.rows * dims.n) {
    let r = i / dims.n;
    let c = i % dims.n;
    var val = gu[2u * r * dims.n + c];
    val = val * (1.0 / (1.0 + exp(-val)));
    val = val * gu[2u * r * dims.n + dims.n + c];
    out[i] = val;
  }
}
