// tune kernel router wg=64
struct Dims {
  experts: u32,
  k: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> chosen: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

var<workgroup> best_v: array<f32, 64>;
var<workgroup> best_i: array<u32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row = wid.x;
  // The previous round's choice; 0xffffffff before the first.
  var pv = 0.0;
  var pi = 0xffffffffu;
  for (var r = 0u; r < dims.k; r = r + 1u) {
    var bv = 0.0;
    var bi = 0xffffffffu;
    for (var i = t; i < dims.experts; i = i + 64u) {
      let v = logits[row * dims.experts + i];
      let after = pi == 0xffffffffu || v < pv || (v == pv && i > pi);
      if (after && (bi == 0xffffffffu || v > bv)) {
        bv = v;
        bi = i;
      }
    }
    best_v[t] = bv;
    best_i[t] = bi;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
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
    pv = best_v[0];
    pi = best_i[0];
    if (t == 0u) {
      chosen[row * dims.k + r] = pi;
      scores[row * dims.k + r] = 1.0 / (1.0 + exp(-pv));
    }
    workgroupBarrier();
  }
}
