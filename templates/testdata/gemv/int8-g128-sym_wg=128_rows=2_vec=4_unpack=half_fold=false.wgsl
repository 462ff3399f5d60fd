// tune kernel gemv wg=128/rows=2/vec=4/unpack=half/fold=false int8-g128-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  for (var j = t; j < chunks; j = j + 128u) {
    let c0 = j * 16u;
    let x0 = x[c0 / 4u + 0u];
    let x1 = x[c0 / 4u + 1u];
    let x2 = x[c0 / 4u + 2u];
    let x3 = x[c0 / 4u + 3u];
    let sx = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 128u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_0.y, h0_1.y), x0);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_0.y, h1_1.y), x1);
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_0.y, h2_1.y), x2);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_0.y, h3_1.y), x3);
      acc[0] = acc[0] + sc * (256.0 * (d - sx) - 128.0 * sx);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 128u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      let h0_0 = unpack2x16float(((u0 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h0_1 = unpack2x16float(((u0 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h0_0.x, h0_1.x, h0_0.y, h0_1.y), x0);
      let u1 = wv[1];
      let h1_0 = unpack2x16float(((u1 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h1_1 = unpack2x16float(((u1 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h1_0.x, h1_1.x, h1_0.y, h1_1.y), x1);
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_0.y, h2_1.y), x2);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 2u) & 0x03fc03fcu) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 >> 6u) & 0x03fc03fcu) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_0.y, h3_1.y), x3);
      acc[1] = acc[1] + sc * (256.0 * (d - sx) - 128.0 * sx);
    }
  }
  partial[0u * 128u + t] = acc[0];
  partial[1u * 128u + t] = acc[1];
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 128u + t] = partial[0u * 128u + t] + partial[0u * 128u + t + s];
      partial[1u * 128u + t] = partial[1u * 128u + t] + partial[1u * 128u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    var v = partial[t * 128u];
    y[dims.row_offset + row0 + t] = v;
  }
}
