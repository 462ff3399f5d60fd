// tune kernel argmax-merge wg=256
struct Dims {
  n: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> pairs: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  var bv = 0.0;
  var bi = 0xffffffffu;
  for (var p = t; p < dims.n; p = p + 256u) {
    let v = bitcast<f32>(pairs[2u * p]);
    let i = pairs[2u * p + 1u];
    if (bi == 0xffffffffu || v > bv || (v == bv && i < bi)) {
      bv = v;
      bi = i;
    }
  }
  best_v[t] = bv;
  best_i[t] = bi;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      let ov = best_v[t + s];
      let oi = best_i[t + s];
      let cv = best_v[t];
      let ci = best_i[t];
      if (oi != 0xffffffffu && (ci == 0xffffffffu || ov > cv || (ov == cv && oi < ci))) {
        best_v[t] = ov;
        best_i[t] = oi;
      }
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[0] = best_i[0];
  }
}
