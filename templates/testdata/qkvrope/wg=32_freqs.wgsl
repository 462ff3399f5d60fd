// tune kernel qkvrope wg=32/freqs
struct Dims {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  rope_dim: u32,
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

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 32u + gid.x;
  let qdim = dims.heads * dims.head_dim;
  let kvdim = dims.kv_heads * dims.head_dim;
  let width = qdim + 2u * kvdim;
  let pairs = width / 2u;
  if (g >= step.rows * pairs) {
    return;
  }
  let r = g / pairs;
  let e = (g % pairs) * 2u;
  let pos = step.pos + r;
  let x0 = qkv[r * width + e];
  let x1 = qkv[r * width + e + 1u];
  if (e >= qdim + kvdim) {
    let o = pos * kvdim + e - qdim - kvdim;
    vcache[o] = x0;
    vcache[o + 1u] = x1;
    return;
  }
  var y0 = x0;
  var y1 = x1;
  let d = e % dims.head_dim;
  if (d < dims.rope_dim) {
    let i = d / 2u;
    let cs = rope_cos_sin(rope_angle(pos, i, dims.rope_dim, bitcast<f32>(step.theta)));
    let fcr = cs.x;
    let fci = cs.y;
    y0 = x0 * fcr - x1 * fci;
    y1 = x0 * fci + x1 * fcr;
  }
  if (e < qdim) {
    q[r * qdim + e] = y0;
    q[r * qdim + e + 1u] = y1;
  } else {
    let o = pos * kvdim + e - qdim;
    kcache[o] = y0;
    kcache[o + 1u] = y1;
  }
}
