// tune kernel gemv wg=32/rows=1/vec=1/unpack=shift/fold=false int2-g32-sym
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

var<workgroup> partial: array<f32, 32>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 1u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 1>;
  for (var j = t; j < chunks; j = j + 32u) {
    let c0 = j * 16u;
    let x0 = x[c0 / 4u + 0u];
    let x1 = x[c0 / 4u + 1u];
    let x2 = x[c0 / 4u + 2u];
    let x3 = x[c0 / 4u + 3u];
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv;
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)) - vec4<f32>(2.0), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)) - vec4<f32>(2.0), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)) - vec4<f32>(2.0), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)) - vec4<f32>(2.0), x3);
      acc[0] = acc[0] + sc * d;
    }
  }
  partial[0u * 32u + t] = acc[0];
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 32u + t] = partial[0u * 32u + t] + partial[0u * 32u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 1u && row0 + t < dims.rows) {
    var v = partial[t * 32u];
    y[dims.row_offset + row0 + t] = v;
  }
}
