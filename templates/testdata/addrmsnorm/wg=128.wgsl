// tune kernel addrmsnorm wg=128
struct Dims {
  n: u32,
  eps: u32,
  rows: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 128>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let base = wid.x * dims.n;
  var ss = 0.0;
  for (var i = t; i < dims.n; i = i + 128u) {
    let v = x[base + i] + y[base + i];
    x[base + i] = v;
    ss = ss + v * v;
  }
  partial[t] = ss;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[t] = partial[t] + partial[t + s];
    }
    workgroupBarrier();
  }
  var scale = partial[0] / f32(dims.n);
  scale = scale + bitcast<f32>(dims.eps);
  scale = 1.0 / sqrt(scale);
  if (wid.x < dims.rows) {
    for (var i = t; i < dims.n; i = i + 128u) {
      out[base + i] = weight[i] * (scale * x[base + i]);
    }
  }
}
