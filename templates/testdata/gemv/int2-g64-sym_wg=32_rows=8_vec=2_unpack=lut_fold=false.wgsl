// tune kernel gemv wg=32/rows=8/vec=2/unpack=lut/fold=false int2-g64-sym
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

var<workgroup> partial: array<f32, 256>;
// Four 2-bit codes of one byte, as floats.
var<workgroup> lut: array<vec4<f32>, 256>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 8u;
  for (var i = t; i < 256u; i = i + 32u) {
    lut[i] = vec4<f32>(f32(i & 3u), f32((i >> 2u) & 3u), f32((i >> 4u) & 3u), f32(i >> 6u));
  }
  workgroupBarrier();
  let chunks = dims.cols / 32u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 8>;
  for (var j = t; j < chunks; j = j + 32u) {
    let c0 = j * 32u;
    let x0 = x[c0 / 4u + 0u];
    let x1 = x[c0 / 4u + 1u];
    let x2 = x[c0 / 4u + 2u];
    let x3 = x[c0 / 4u + 3u];
    let x4 = x[c0 / 4u + 4u];
    let x5 = x[c0 / 4u + 5u];
    let x6 = x[c0 / 4u + 6u];
    let x7 = x[c0 / 4u + 7u];
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[0] = acc[0] + sc * d;
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[1] = acc[1] + sc * d;
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[2] = acc[2] + sc * d;
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[3] = acc[3] + sc * d;
    }
    {
      let row = min(row0 + 4u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[4] = acc[4] + sc * d;
    }
    {
      let row = min(row0 + 5u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[5] = acc[5] + sc * d;
    }
    {
      let row = min(row0 + 6u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[6] = acc[6] + sc * d;
    }
    {
      let row = min(row0 + 7u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 64u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(lut[(u0 >> 0u) & 0xffu] - vec4<f32>(2.0), x0);
      d = d + dot(lut[(u0 >> 8u) & 0xffu] - vec4<f32>(2.0), x1);
      d = d + dot(lut[(u0 >> 16u) & 0xffu] - vec4<f32>(2.0), x2);
      d = d + dot(lut[(u0 >> 24u) & 0xffu] - vec4<f32>(2.0), x3);
      let u1 = wv[1];
      d = d + dot(lut[(u1 >> 0u) & 0xffu] - vec4<f32>(2.0), x4);
      d = d + dot(lut[(u1 >> 8u) & 0xffu] - vec4<f32>(2.0), x5);
      d = d + dot(lut[(u1 >> 16u) & 0xffu] - vec4<f32>(2.0), x6);
      d = d + dot(lut[(u1 >> 24u) & 0xffu] - vec4<f32>(2.0), x7);
      acc[7] = acc[7] + sc * d;
    }
  }
  partial[0u * 32u + t] = acc[0];
  partial[1u * 32u + t] = acc[1];
  partial[2u * 32u + t] = acc[2];
  partial[3u * 32u + t] = acc[3];
  partial[4u * 32u + t] = acc[4];
  partial[5u * 32u + t] = acc[5];
  partial[6u * 32u + t] = acc[6];
  partial[7u * 32u + t] = acc[7];
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 32u + t] = partial[0u * 32u + t] + partial[0u * 32u + t + s];
      partial[1u * 32u + t] = partial[1u * 32u + t] + partial[1u * 32u + t + s];
      partial[2u * 32u + t] = partial[2u * 32u + t] + partial[2u * 32u + t + s];
      partial[3u * 32u + t] = partial[3u * 32u + t] + partial[3u * 32u + t + s];
      partial[4u * 32u + t] = partial[4u * 32u + t] + partial[4u * 32u + t + s];
      partial[5u * 32u + t] = partial[5u * 32u + t] + partial[5u * 32u + t + s];
      partial[6u * 32u + t] = partial[6u * 32u + t] + partial[6u * 32u + t + s];
      partial[7u * 32u + t] = partial[7u * 32u + t] + partial[7u * 32u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 8u && row0 + t < dims.rows) {
    var v = partial[t * 32u];
    y[dims.row_offset + row0 + t] = v;
  }
}
