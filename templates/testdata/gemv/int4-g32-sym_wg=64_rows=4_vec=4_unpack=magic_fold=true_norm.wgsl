// tune kernel gemv wg=64/rows=4/vec=4/unpack=magic/fold=true/norm int4-g32-sym
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
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> norm: array<vec4<f32>>;

var<workgroup> partial: array<f32, 320>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 4u;
  let chunks = dims.cols / 32u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 4>;
  var ss = 0.0;
  for (var j = t; j < chunks; j = j + 64u) {
    let c0 = j * 32u;
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
    let r4 = x[c0 / 4u + 4u];
    ss = ss + dot(r4, r4);
    let x4 = r4 * norm[c0 / 4u + 4u];
    let r5 = x[c0 / 4u + 5u];
    ss = ss + dot(r5, r5);
    let x5 = r5 * norm[c0 / 4u + 5u];
    let r6 = x[c0 / 4u + 6u];
    ss = ss + dot(r6, r6);
    let x6 = r6 * norm[c0 / 4u + 6u];
    let r7 = x[c0 / 4u + 7u];
    ss = ss + dot(r7, r7);
    let x7 = r7 * norm[c0 / 4u + 7u];
    let sx = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x0);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x2);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x3);
      let u2 = wv[2];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x4);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x5);
      let u3 = wv[3];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x6);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x7);
      acc[0] = acc[0] + sc * (d - 8.0 * sx);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x0);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x2);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x3);
      let u2 = wv[2];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x4);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x5);
      let u3 = wv[3];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x6);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x7);
      acc[1] = acc[1] + sc * (d - 8.0 * sx);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x0);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x2);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x3);
      let u2 = wv[2];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x4);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x5);
      let u3 = wv[3];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x6);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x7);
      acc[2] = acc[2] + sc * (d - 8.0 * sx);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * vpr + j];
      let g = row * gpr + c0 / 32u;
      let sc = scales[g];
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x0);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u0) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x1);
      let u1 = wv[1];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x2);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u1) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x3);
      let u2 = wv[2];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x4);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u2) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x5);
      let u3 = wv[3];
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x6);
      d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(u3) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0), x7);
      acc[3] = acc[3] + sc * (d - 8.0 * sx);
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  partial[2u * 64u + t] = acc[2];
  partial[3u * 64u + t] = acc[3];
  partial[4u * 64u + t] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
      partial[2u * 64u + t] = partial[2u * 64u + t] + partial[2u * 64u + t + s];
      partial[3u * 64u + t] = partial[3u * 64u + t] + partial[3u * 64u + t + s];
      partial[4u * 64u + t] = partial[4u * 64u + t] + partial[4u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 4u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    // rmsnorm's scale, as rmsnorm.wgsl.tmpl computes it.
    var scale = partial[4u * 64u] / f32(dims.cols);
    scale = scale + bitcast<f32>(dims.eps);
    scale = 1.0 / sqrt(scale);
    v = v * scale;
    y[dims.row_offset + row0 + t] = v;
  }
}
