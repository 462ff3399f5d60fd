// tune kernel softmax wg=256
struct Dims {
  n: u32,
  rows: u32,
  temperature: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let base = wid.x * dims.n;
  let temp = bitcast<f32>(dims.temperature);
  // Every thread starts from element 0, a member of the row.
  var m = x[base] / temp;
  for (var i = t; i < dims.n; i = i + 256u) {
    m = max(m, x[base + i] / temp);
  }
  partial[t] = m;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[t] = max(partial[t], partial[t + s]);
    }
    workgroupBarrier();
  }
  m = partial[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = t; i < dims.n; i = i + 256u) {
    let e = exp(x[base + i] / temp - m);
    out[base + i] = e;
    sum = sum + e;
  }
  partial[t] = sum;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[t] = partial[t] + partial[t + s];
    }
    workgroupBarrier();
  }
  sum = partial[0];
  for (var i = t; i < dims.n; i = i + 256u) {
    out[base + i] = out[base + i] / sum;
  }
}
