// tune kernel rope wg=32/half=true/freqs=true
struct Dims {
  heads: u32,
  head_dim: u32,
  rope_dim: u32,
  pos: u32,
}

struct Base {
  theta: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> base: Base;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> freqs: array<f32>;

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
  let pairs = dims.rope_dim / 2u;
  if (g >= dims.heads * pairs) {
    return;
  }
  let h = g / pairs;
  let i = g % pairs;
  let cs = rope_cos_sin(rope_angle(dims.pos, i, dims.rope_dim, bitcast<f32>(base.theta)));
  let fcr = cs.x;
  let fci = cs.y;
  let i0 = h * dims.head_dim + i;
  let i1 = i0 + pairs;
  let v0 = v[i0];
  let v1 = v[i1];
  v[i0] = v0 * fcr - v1 * fci;
  v[i1] = v0 * fci + v1 * fcr;
}
