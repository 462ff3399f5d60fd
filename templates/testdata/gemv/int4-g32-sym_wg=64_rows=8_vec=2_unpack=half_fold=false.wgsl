// tune kernel gemv wg=64/rows=8/vec=2/unpack=half/fold=false int4-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 512>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 8u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 8>;
  for (var j = t; j < chunks; j = j + 64u) {
    let c0 = j * 16u;
    let x0 = x[c0 / 4u + 0u];
    let x1 = x[c0 / 4u + 1u];
    let x2 = x[c0 / 4u + 2u];
    let x3 = x[c0 / 4u + 3u];
    let sx = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
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
      let row = min(row0 + 1u, dims.rows - 1u);
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
      let row = min(row0 + 2u, dims.rows - 1u);
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
      let row = min(row0 + 3u, dims.rows - 1u);
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
      let row = min(row0 + 4u, dims.rows - 1u);
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
      let row = min(row0 + 5u, dims.rows - 1u);
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
      let row = min(row0 + 6u, dims.rows - 1u);
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
      let row = min(row0 + 7u, dims.rows - 1u);
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
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  partial[2u * 64u + t] = acc[2];
  partial[3u * 64u + t] = acc[3];
  partial[4u * 64u + t] = acc[4];
  partial[5u * 64u + t] = acc[5];
  partial[6u * 64u + t] = acc[6];
  partial[7u * 64u + t] = acc[7];
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
    }
    workgroupBarrier();
  }
  if (t < 8u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    y[dims.row_offset + row0 + t] = v;
  }
}
