// tune kernel gemv wg=256/rows=1/vec=2/unpack=vec/fold=false/acc int4-g128-asym
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
@group(0) @binding(5) var<storage, read> mins: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 1u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 1>;
  for (var j = t; j < chunks; j = j + 256u) {
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
      let mn = mins[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)), x0);
      d = d + dot(vec4<f32>((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)), x1);
      let u1 = wv[1];
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)), x2);
      d = d + dot(vec4<f32>((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)), x3);
      acc[0] = acc[0] + sc * d + mn * sx;
    }
  }
  partial[0u * 256u + t] = acc[0];
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 256u + t] = partial[0u * 256u + t] + partial[0u * 256u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 1u && row0 + t < dims.rows) {
    var v = partial[t * 256u];
    y[dims.row_offset + row0 + t] = y[dims.row_offset + row0 + t] + v;
  }
}
