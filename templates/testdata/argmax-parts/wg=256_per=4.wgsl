// tune kernel argmax-parts wg=256/per=4
struct Dims {
  n: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> parts: array<u32>;

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let c = wid.y * nwg.x + wid.x;
  let base = c * 1024u;
  var bv = 0.0;
  var bi = 0xffffffffu;
  for (var j = 0u; j < 4u; j = j + 1u) {
    let i = base + j * 256u + t;
    if (i < dims.n) {
      let v = x[i];
      if (bi == 0xffffffffu || v > bv) {
        bv = v;
        bi = i;
      }
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
  if (t == 0u && base < dims.n) {
    parts[2u * c] = bitcast<u32>(best_v[0]);
    parts[2u * c + 1u] = best_i[0];
  }
}
