// tune kernel gemv-reduce wg=64/split=2/acc
struct Dims {
  rows: u32,
  row_offset: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  if (r >= dims.rows) {
    return;
  }
  var v = 0.0;
  v = v + parts[0u * dims.rows + r];
  v = v + parts[1u * dims.rows + r];
  y[dims.row_offset + r] = y[dims.row_offset + r] + v;
}
