// tune kernel matvec wg=64/rows=4
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

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 4u;
  let ro0 = min(row0 + 0u, dims.rows - 1u) * dims.cols;
  var acc0 = 0.0;
  let ro1 = min(row0 + 1u, dims.rows - 1u) * dims.cols;
  var acc1 = 0.0;
  let ro2 = min(row0 + 2u, dims.rows - 1u) * dims.cols;
  var acc2 = 0.0;
  let ro3 = min(row0 + 3u, dims.rows - 1u) * dims.cols;
  var acc3 = 0.0;
  for (var c = t; c < dims.cols; c = c + 64u) {
    let xc = x[c];
    acc0 = acc0 + w[ro0 + c] * xc;
    acc1 = acc1 + w[ro1 + c] * xc;
    acc2 = acc2 + w[ro2 + c] * xc;
    acc3 = acc3 + w[ro3 + c] * xc;
  }
  partial[0u + t] = acc0;
  partial[64u + t] = acc1;
  partial[128u + t] = acc2;
  partial[192u + t] = acc3;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u + t] = partial[0u + t] + partial[0u + t + s];
      partial[64u + t] = partial[64u + t] + partial[64u + t + s];
      partial[128u + t] = partial[128u + t] + partial[128u + t + s];
      partial[192u + t] = partial[192u + t] + partial[192u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 4u && row0 + t < dims.rows) {
    y[row0 + t] = partial[t * 64u];
  }
}
