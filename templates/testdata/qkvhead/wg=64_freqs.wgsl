// tune kernel qkvhead wg=64/freqs
struct Dims {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  rope_dim: u32,
  eps: u32,
  qknorm: u32,
  temp_floor: u32,
  temp_scale: u32,
}

struct Step {
  theta: u32,
  pos: u32,
  rows: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
@group(0) @binding(4) var<storage, read_write> kcache: array<f32>;
@group(0) @binding(5) var<storage, read_write> vcache: array<f32>;
@group(0) @binding(6) var<storage, read> freqs: array<f32>;

// rope_cos_sin returns (cos a, sin a) within about 2^-23 + |a| 2^-35 on
// any adapter: WGSL bounds its sin and cos only on [-pi, pi] and only to
// 2^-11 (SwiftShader's are 2^-12.4 off there). a = k pi/2 + r with k =
// round(a 2/pi), reduced Cody-Waite style: k * 1.5703125 (8 bits) and its
// subtraction are exact for |k| < 83468, only k times the rest of pi/2
// rounds. Cephes' sinf and cosf polynomials on |r| <= pi/4, then k's
// quadrant.
fn rope_cos_sin(a: f32) -> vec2<f32> {
  let k = round(a * 0.63661975);
  let r = (a - k * 1.5703125) - k * 0.0004838268;
  let z = r * r;
  let s = r + r * z * ((-0.00019515296 * z + 0.008332161) * z - 0.16666655);
  let c = 1.0 - 0.5 * z + z * z * ((0.000024433157 * z - 0.0013887316) * z + 0.041666646);
  let q = u32(i32(k)) & 3u;
  let odd = (q & 1u) == 1u;
  let sign = select(1.0, -1.0, q >= 2u);
  return vec2<f32>(sign * select(c, -s, odd), sign * select(s, c, odd));
}

// rope_angle is how far pair i of a head's first rope_dim dimensions turns
// at position pos: pos / theta^(2i / rope_dim), divided by the
// pair's frequency factor.
fn rope_angle(pos: u32, i: u32, rope_dim: u32, theta: f32) -> f32 {
  let freq = 1.0 / pow(theta, f32(2u * i) / f32(rope_dim));
  return (f32(pos) * freq) / freqs[i];
}

var<workgroup> head: array<f32, 256>;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let h = wid.x;
  let r = wid.y;
  let hd = dims.head_dim;
  let qdim = dims.heads * hd;
  let kvdim = dims.kv_heads * hd;
  let width = qdim + 2u * kvdim;
  let pos = step.pos + r;
  let base = r * width + h * hd;
  if (h >= dims.heads + dims.kv_heads) {
    let kvh = h - dims.heads - dims.kv_heads;
    let o = pos * kvdim + kvh * hd;
    for (var i = t; i < hd; i = i + 64u) {
      vcache[o + i] = qkv[base + i];
    }
    return;
  }
  var ss = 0.0;
  for (var p = t; p < hd / 2u; p = p + 64u) {
    let x0 = qkv[base + 2u * p];
    let x1 = qkv[base + 2u * p + 1u];
    var y0 = x0;
    var y1 = x1;
    if (2u * p < dims.rope_dim) {
      let cs = rope_cos_sin(rope_angle(pos, p, dims.rope_dim, bitcast<f32>(step.theta)));
      y0 = x0 * cs.x - x1 * cs.y;
      y1 = x0 * cs.y + x1 * cs.x;
    }
    head[2u * p] = y0;
    head[2u * p + 1u] = y1;
    ss = ss + y0 * y0 + y1 * y1;
  }
  partial[t] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[t] = partial[t] + partial[t + s];
    }
    workgroupBarrier();
  }
  var scale = 1.0;
  if (dims.qknorm != 0u) {
    scale = 1.0 / sqrt(partial[0] / f32(hd) + bitcast<f32>(dims.eps));
  }
  if (h < dims.heads) {
    let temp = log(floor(f32(pos + 1u) / bitcast<f32>(dims.temp_floor)) + 1.0) * bitcast<f32>(dims.temp_scale) + 1.0;
    for (var i = t; i < hd; i = i + 64u) {
      q[r * qdim + h * hd + i] = head[i] * scale * temp;
    }
  } else {
    let kvh = h - dims.heads;
    let o = pos * kvdim + kvh * hd;
    for (var i = t; i < hd; i = i + 64u) {
      kcache[o + i] = head[i] * scale;
    }
  }
}
