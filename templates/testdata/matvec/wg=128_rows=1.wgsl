// tune kernel matvec wg=128/rows=1
struct Dims {
  rows: u32,
  cols: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 128>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 1u;
  let ro0 = min(row0 + 0u, dims.rows - 1u) * dims.cols;
  var acc0 = 0.0;
  for (var c = t; c < dims.cols; c = c + 128u) {
    let xc = x[c];
    acc0 = acc0 + w[ro0 + c] * xc;
  }
  partial[0u + t] = acc0;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u + t] = partial[0u + t] + partial[0u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 1u && row0 + t < dims.rows) {
    y[row0 + t] = partial[t * 128u];
  }
}
