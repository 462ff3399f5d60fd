// tune kernel rmsnorm wg=128/noweight=true
struct Dims {
  n: u32,
  eps: u32,
  rows: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 128>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let base = wid.x * dims.n;
  var ss = 0.0;
  for (var i = t; i < dims.n; i = i + 128u) {
    let v = x[base + i];
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
      out[base + i] = scale * x[base + i];
    }
  }
}
