// tune kernel attention wg=128/maxseq=4096
struct Dims {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  len: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kcache: array<f32>;
@group(0) @binding(3) var<storage, read> vcache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> att: array<f32, 4096>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lt = lid.x;
  let h = wid.x;
  let hd = dims.head_dim;
  let kv_dim = dims.kv_heads * hd;
  let kvo = (h / (dims.heads / dims.kv_heads)) * hd;
  let qo = h * hd;
  let scale = sqrt(f32(hd));

  // Scores and this thread's maximum.
  var m = bitcast<f32>(0xff7fffffu); // -FLT_MAX; the decimal literal rounds past it for Tint
  for (var t = lt; t < dims.len; t = t + 128u) {
    let ko = t * kv_dim + kvo;
    var score = 0.0;
    for (var i = 0u; i < hd; i = i + 1u) {
      score = score + q[qo + i] * kcache[ko + i];
    }
    score = score / scale;
    att[t] = score;
    m = max(m, score);
  }

  // The maximum over the workgroup.
  let own = att[lt];
  att[lt] = m;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (lt < s) {
      att[lt] = max(att[lt], att[lt + s]);
    }
    workgroupBarrier();
  }
  let mx = att[0];
  workgroupBarrier();
  att[lt] = own;

  // exp(score - max) and this thread's sum.
  var sum = 0.0;
  for (var t = lt; t < dims.len; t = t + 128u) {
    let e = exp(att[t] - mx);
    att[t] = e;
    sum = sum + e;
  }

  // The sum over the workgroup.
  let own_e = att[lt];
  att[lt] = sum;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (lt < s) {
      att[lt] = att[lt] + att[lt + s];
    }
    workgroupBarrier();
  }
  let total = att[0];
  workgroupBarrier();
  att[lt] = own_e;

  // Probabilities.
  for (var t = lt; t < dims.len; t = t + 128u) {
    att[t] = att[t] / total;
  }
  workgroupBarrier();

  // out = sum_t p[t] * v[t]. Threads stride over head_dim in lanes of
  // min(WG, head_dim); parts = WG/lanes groups of lanes each take every
  // parts-th position, and their shares are added in order through att.
  let lanes = min(128u, hd);
  let parts = 128u / lanes;
  let part = lt / lanes;
  let d0 = lt % lanes;
  if (parts == 1u) {
    if (part == 0u) {
      for (var d = d0; d < hd; d = d + lanes) {
        var o = 0.0;
        for (var t = 0u; t < dims.len; t = t + 1u) {
          o = o + att[t] * vcache[t * kv_dim + kvo + d];
        }
        out[qo + d] = o;
      }
    }
  } else {
    var o = 0.0;
    if (part < parts) {
      for (var t = part; t < dims.len; t = t + parts) {
        o = o + att[t] * vcache[t * kv_dim + kvo + d0];
      }
    }
    workgroupBarrier();
    if (part < parts) {
      att[part * hd + d0] = o;
    }
    workgroupBarrier();
    if (lt < hd) {
      var acc = 0.0;
      for (var j = 0u; j < parts; j = j + 1u) {
        acc = acc + att[j * hd + lt];
      }
      out[qo + lt] = acc;
    }
  }
}
