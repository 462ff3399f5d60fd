// tune kernel gemv wg=32/rows=2/vec=1/unpack=mant/fold=false int8-row-asym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> mins: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 4u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  for (var j = t; j < chunks; j = j + 32u) {
    let c0 = j * 4u;
    let x0 = x[c0 / 4u + 0u];
    let sx = dot(x0, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row;
      let sc = scales[g];
      let mn = mins[g];
      var d = 0.0;
      let u0 = wv;
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 15u, u0 << 7u, u0 >> 1u, u0 >> 9u) & vec4<u32>(0x007f8000u)) | vec4<u32>(0x3f800000u)), x0);
      acc[0] = acc[0] + sc * 256.0 * (d - sx) + mn * sx;
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row;
      let sc = scales[g];
      let mn = mins[g];
      var d = 0.0;
      let u0 = wv;
      d = d + dot(bitcast<vec4<f32>>((vec4<u32>(u0 << 15u, u0 << 7u, u0 >> 1u, u0 >> 9u) & vec4<u32>(0x007f8000u)) | vec4<u32>(0x3f800000u)), x0);
      acc[1] = acc[1] + sc * 256.0 * (d - sx) + mn * sx;
    }
  }
  partial[0u * 32u + t] = acc[0];
  partial[1u * 32u + t] = acc[1];
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 32u + t] = partial[0u * 32u + t] + partial[0u * 32u + t + s];
      partial[1u * 32u + t] = partial[1u * 32u + t] + partial[1u * 32u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    var v = partial[t * 32u];
    y[dims.row_offset + row0 + t] = v;
  }
}
