// tune kernel gemv wg=64/rows=16/vec=2/unpack=half/fold=false/norm/expert int4-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
  eps: u32,
  gate: u32,
  up: u32,
  pad: u32,
  slot: u32,
  scaled: u32,
  epad0: u32,
  epad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> norm: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> chosen: array<u32>;
@group(0) @binding(7) var<storage, read> escores: array<f32>;

var<workgroup> partial: array<f32, 1088>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 16u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 16>;
  let ebase = chosen[dims.slot] * dims.rows;
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
      let row = ebase + min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[0] = acc[0] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[1] = acc[1] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[2] = acc[2] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[3] = acc[3] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 4u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[4] = acc[4] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 5u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[5] = acc[5] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 6u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[6] = acc[6] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 7u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[7] = acc[7] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 8u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[8] = acc[8] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 9u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[9] = acc[9] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 10u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[10] = acc[10] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 11u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[11] = acc[11] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 12u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[12] = acc[12] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 13u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[13] = acc[13] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 14u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
      acc[14] = acc[14] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = ebase + min(row0 + 15u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_2 = unpack2x16float(((u0 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h0_3 = unpack2x16float(((u0 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_2.x, h0_3.x), x0);
      d = d + dot(vec4<f32>(h0_0.y, h0_1.y, h0_2.y, h0_3.y), x1);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_2 = unpack2x16float(((u1 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h1_3 = unpack2x16float(((u1 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_2.x, h1_3.x), x2);
      d = d + dot(vec4<f32>(h1_0.y, h1_1.y, h1_2.y, h1_3.y), x3);
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
    // rmsnorm's scale, as rmsnorm.wgsl.tmpl computes it.
    var scale = partial[16u * 64u] / f32(dims.cols);
    scale = scale + bitcast<f32>(dims.eps);
    scale = 1.0 / sqrt(scale);
    v = v * scale;
    if (dims.scaled != 0u) {
      v = v * escores[dims.slot];
    }
    y[dims.row_offset + row0 + t] = v;
  }
}
