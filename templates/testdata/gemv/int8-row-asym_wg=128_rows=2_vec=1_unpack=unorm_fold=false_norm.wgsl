// tune kernel gemv wg=128/rows=2/vec=1/unpack=unorm/fold=false/norm int8-row-asym
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
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> mins: array<f32>;
@group(0) @binding(6) var<storage, read> norm: array<vec4<f32>>;

var<workgroup> partial: array<f32, 384>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 4u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  var ss = 0.0;
  for (var j = t; j < chunks; j = j + 128u) {
    let c0 = j * 4u;
    let r0 = x[c0 / 4u + 0u];
    ss = ss + dot(r0, r0);
    let x0 = r0 * norm[c0 / 4u + 0u];
    let sx = dot(x0, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row;
      let sc = scales[g];
      let mn = mins[g];
      var d = 0.0;
      let u0 = wv;
      d = d + dot(unpack4x8unorm((u0 >> 0u) & 0xffffffffu) * 255.0, vec4<f32>(x0[0], x0[1], x0[2], x0[3]));
      acc[0] = acc[0] + sc * d + mn * sx;
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row;
      let sc = scales[g];
      let mn = mins[g];
      var d = 0.0;
      let u0 = wv;
      d = d + dot(unpack4x8unorm((u0 >> 0u) & 0xffffffffu) * 255.0, vec4<f32>(x0[0], x0[1], x0[2], x0[3]));
      acc[1] = acc[1] + sc * d + mn * sx;
    }
  }
  partial[0u * 128u + t] = acc[0];
  partial[1u * 128u + t] = acc[1];
  partial[2u * 128u + t] = ss;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 128u + t] = partial[0u * 128u + t] + partial[0u * 128u + t + s];
      partial[1u * 128u + t] = partial[1u * 128u + t] + partial[1u * 128u + t + s];
      partial[2u * 128u + t] = partial[2u * 128u + t] + partial[2u * 128u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    var v = partial[t * 128u];
    // rmsnorm's scale, as rmsnorm.wgsl.tmpl computes it.
    var scale = partial[2u * 128u] / f32(dims.cols);
    scale = scale + bitcast<f32>(dims.eps);
    scale = 1.0 / sqrt(scale);
    v = v * scale;
    y[dims.row_offset + row0 + t] = v;
  }
}
