// tune kernel gemv wg=64/rows=16/vec=2/unpack=mant/fold=false/norm/rope int4-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
  eps: u32,
  gate: u32,
  up: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> norm: array<vec4<f32>>;

struct RopeDims {
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

@group(0) @binding(6) var<uniform> rope: RopeDims;
@group(0) @binding(7) var<uniform> step: Step;
@group(0) @binding(8) var<storage, read_write> kcache: array<f32>;
@group(0) @binding(9) var<storage, read_write> vcache: array<f32>;

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
// at position pos: pos / theta^(2i / rope_dim).
fn rope_angle(pos: u32, i: u32, rope_dim: u32, theta: f32) -> f32 {
  let freq = 1.0 / pow(theta, f32(2u * i) / f32(rope_dim));
  return f32(pos) * freq;
}

var<workgroup> partial: array<f32, 1088>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 16u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 16>;
  var ss = 0.0;
  for (var j = t; j < chunks; j = j + 64u) {
    let c0 = j * 16u;
    let r0 = x[c0 / 4u + 0u];
    ss = ss + dot(r0, r0);
    let x0 = r0 * norm[c0 / 4u + 0u];
    let r1 = x[c0 / 4u + 1u];
    ss = ss + dot(r1, r1);
    let x1 = r1 * norm[c0 / 4u + 1u];
    let r2 = x[c0 / 4u + 2u];
    ss = ss + dot(r2, r2);
    let x2 = r2 * norm[c0 / 4u + 2u];
    let r3 = x[c0 / 4u + 3u];
    ss = ss + dot(r3, r3);
    let x3 = r3 * norm[c0 / 4u + 3u];
    let sx = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[0] = acc[0] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[1] = acc[1] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[2] = acc[2] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[3] = acc[3] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 4u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[4] = acc[4] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 5u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[5] = acc[5] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 6u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[6] = acc[6] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 7u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[7] = acc[7] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 8u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[8] = acc[8] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 9u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[9] = acc[9] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 10u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[10] = acc[10] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 11u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[11] = acc[11] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 12u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[12] = acc[12] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 13u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[13] = acc[13] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 14u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[14] = acc[14] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 15u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 19u, u0 << 15u, u0 << 11u, u0 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x0);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 3u, u0 >> 1u, u0 >> 5u, u0 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 19u, u1 << 15u, u1 << 11u, u1 << 7u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x2);
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u1 << 3u, u1 >> 1u, u1 >> 5u, u1 >> 9u) & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u)), x3);
      acc[15] = acc[15] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  partial[2u * 64u + t] = acc[2];
  partial[3u * 64u + t] = acc[3];
  partial[4u * 64u + t] = acc[4];
  partial[5u * 64u + t] = acc[5];
  partial[6u * 64u + t] = acc[6];
  partial[7u * 64u + t] = acc[7];
  partial[8u * 64u + t] = acc[8];
  partial[9u * 64u + t] = acc[9];
  partial[10u * 64u + t] = acc[10];
  partial[11u * 64u + t] = acc[11];
  partial[12u * 64u + t] = acc[12];
  partial[13u * 64u + t] = acc[13];
  partial[14u * 64u + t] = acc[14];
  partial[15u * 64u + t] = acc[15];
  partial[16u * 64u + t] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
      partial[2u * 64u + t] = partial[2u * 64u + t] + partial[2u * 64u + t + s];
      partial[3u * 64u + t] = partial[3u * 64u + t] + partial[3u * 64u + t + s];
      partial[4u * 64u + t] = partial[4u * 64u + t] + partial[4u * 64u + t + s];
      partial[5u * 64u + t] = partial[5u * 64u + t] + partial[5u * 64u + t + s];
      partial[6u * 64u + t] = partial[6u * 64u + t] + partial[6u * 64u + t + s];
      partial[7u * 64u + t] = partial[7u * 64u + t] + partial[7u * 64u + t + s];
      partial[8u * 64u + t] = partial[8u * 64u + t] + partial[8u * 64u + t + s];
      partial[9u * 64u + t] = partial[9u * 64u + t] + partial[9u * 64u + t + s];
      partial[10u * 64u + t] = partial[10u * 64u + t] + partial[10u * 64u + t + s];
      partial[11u * 64u + t] = partial[11u * 64u + t] + partial[11u * 64u + t + s];
      partial[12u * 64u + t] = partial[12u * 64u + t] + partial[12u * 64u + t + s];
      partial[13u * 64u + t] = partial[13u * 64u + t] + partial[13u * 64u + t + s];
      partial[14u * 64u + t] = partial[14u * 64u + t] + partial[14u * 64u + t + s];
      partial[15u * 64u + t] = partial[15u * 64u + t] + partial[15u * 64u + t + s];
      partial[16u * 64u + t] = partial[16u * 64u + t] + partial[16u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 16u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    // The other row of t's pair: rows come in pairs within a workgroup.
    var pv = partial[(t ^ 1u) * 64u];
    // rmsnorm's scale, as rmsnorm.wgsl.tmpl computes it.
    var scale = partial[16u * 64u] / f32(dims.cols);
    scale = scale + bitcast<f32>(dims.eps);
    scale = 1.0 / sqrt(scale);
    v = v * scale;
    pv = pv * scale;
    // As qkvrope.wgsl.tmpl: q rows to y, k rotated and v into the caches.
    let row = dims.row_offset + row0 + t;
    let qdim = rope.heads * rope.head_dim;
    let kvdim = rope.kv_heads * rope.head_dim;
    if (row >= qdim + kvdim) {
      vcache[step.pos * kvdim + row - qdim - kvdim] = v;
    } else {
      var out = v;
      let d = row % rope.head_dim;
      if (d < rope.rope_dim) {
        let i = d / 2u;
        let cs = rope_cos_sin(rope_angle(step.pos, i, rope.rope_dim, bitcast<f32>(step.theta)));
        if ((t & 1u) == 0u) {
          out = v * cs.x - pv * cs.y;
        } else {
          out = pv * cs.y + v * cs.x;
        }
      }
      if (row < qdim) {
        y[row] = out;
      } else {
        kcache[step.pos * kvdim + row - qdim] = out;
      }
    }
  }
}
