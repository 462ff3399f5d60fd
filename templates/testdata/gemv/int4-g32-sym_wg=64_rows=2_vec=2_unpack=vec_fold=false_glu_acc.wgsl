// tune kernel gemv wg=64/rows=2/vec=2/unpack=vec/fold=false/glu/acc int4-g32-sym
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

var<workgroup> partial: array<f32, 128>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  for (var j = t; j < chunks; j = j + 64u) {
    let c0 = j * 16u;
    let gv0 = x[dims.gate / 4u + c0 / 4u + 0u];
    let x0 = gv0 * (1.0 / (1.0 + exp(-gv0))) * x[dims.up / 4u + c0 / 4u + 0u];
    let gv1 = x[dims.gate / 4u + c0 / 4u + 1u];
    let x1 = gv1 * (1.0 / (1.0 + exp(-gv1))) * x[dims.up / 4u + c0 / 4u + 1u];
    let gv2 = x[dims.gate / 4u + c0 / 4u + 2u];
    let x2 = gv2 * (1.0 / (1.0 + exp(-gv2))) * x[dims.up / 4u + c0 / 4u + 2u];
    let gv3 = x[dims.gate / 4u + c0 / 4u + 3u];
    let x3 = gv3 * (1.0 / (1.0 + exp(-gv3))) * x[dims.up / 4u + c0 / 4u + 3u];
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x0);
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x1);
      let u1 = wv[1];
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x2);
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x3);
      acc[0] = acc[0] + sc * d;
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x0);
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x1);
      let u1 = wv[1];
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x2);
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) - vec4<f32>(8.0), x3);
      acc[1] = acc[1] + sc * d;
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    y[dims.row_offset + row0 + t] = y[dims.row_offset + row0 + t] + v;
  }
}
