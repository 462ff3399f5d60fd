// tune kernel gemv wg=64/rows=2/vec=2/unpack=half/fold=false/depth=2/norm int4-g32-sym
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
@group(0) @binding(5) var<storage, read> norm: array<vec4<f32>>;

var<workgroup> partial: array<f32, 192>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 16u;
  let vpr = chunks;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  var ss = 0.0;
  let jbeg = t;
  let jend = chunks;
  let row_0 = min(row0 + 0u, dims.rows - 1u);
  let row_1 = min(row0 + 1u, dims.rows - 1u);
  // 2 chunks a trip: every load of the trip is issued before any
  // is used; chunks past the end load the last one again, unused.
  for (var j = jbeg; j < jend; j = j + 128u) {
    let j0 = min(j + 0u, jend - 1u);
    let c00 = j0 * 16u;
    let r0_0 = x[c00 / 4u + 0u];
    let n0_0 = norm[c00 / 4u + 0u];
    let r1_0 = x[c00 / 4u + 1u];
    let n1_0 = norm[c00 / 4u + 1u];
    let r2_0 = x[c00 / 4u + 2u];
    let n2_0 = norm[c00 / 4u + 2u];
    let r3_0 = x[c00 / 4u + 3u];
    let n3_0 = norm[c00 / 4u + 3u];
      let wv_0_0 = w[row_0 * vpr + j0];
      let g_0_0 = row_0 * gpr + c00 / 32u;
      let sc_0_0 = scales[g_0_0];
      let wv_0_1 = w[row_1 * vpr + j0];
      let g_0_1 = row_1 * gpr + c00 / 32u;
      let sc_0_1 = scales[g_0_1];
    let j1 = min(j + 64u, jend - 1u);
    let c01 = j1 * 16u;
    let r0_1 = x[c01 / 4u + 0u];
    let n0_1 = norm[c01 / 4u + 0u];
    let r1_1 = x[c01 / 4u + 1u];
    let n1_1 = norm[c01 / 4u + 1u];
    let r2_1 = x[c01 / 4u + 2u];
    let n2_1 = norm[c01 / 4u + 2u];
    let r3_1 = x[c01 / 4u + 3u];
    let n3_1 = norm[c01 / 4u + 3u];
      let wv_1_0 = w[row_0 * vpr + j1];
      let g_1_0 = row_0 * gpr + c01 / 32u;
      let sc_1_0 = scales[g_1_0];
      let wv_1_1 = w[row_1 * vpr + j1];
      let g_1_1 = row_1 * gpr + c01 / 32u;
      let sc_1_1 = scales[g_1_1];
    if (j + 0u < jend) {
      ss = ss + dot(r0_0, r0_0);
      let x0 = r0_0 * n0_0;
      ss = ss + dot(r1_0, r1_0);
      let x1 = r1_0 * n1_0;
      ss = ss + dot(r2_0, r2_0);
      let x2 = r2_0 * n2_0;
      ss = ss + dot(r3_0, r3_0);
      let x3 = r3_0 * n3_0;
      let sx = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
      {
        let wv = wv_0_0;
        let sc = sc_0_0;
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
        let wv = wv_0_1;
        let sc = sc_0_1;
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
    }
    if (j + 64u < jend) {
      ss = ss + dot(r0_1, r0_1);
      let x0 = r0_1 * n0_1;
      ss = ss + dot(r1_1, r1_1);
      let x1 = r1_1 * n1_1;
      ss = ss + dot(r2_1, r2_1);
      let x2 = r2_1 * n2_1;
      ss = ss + dot(r3_1, r3_1);
      let x3 = r3_1 * n3_1;
      let sx = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
      {
        let wv = wv_1_0;
        let sc = sc_1_0;
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
        let wv = wv_1_1;
        let sc = sc_1_1;
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
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  partial[2u * 64u + t] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
      partial[2u * 64u + t] = partial[2u * 64u + t] + partial[2u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    // rmsnorm's scale, as rmsnorm.wgsl.tmpl computes it.
    var scale = partial[2u * 64u] / f32(dims.cols);
    scale = scale + bitcast<f32>(dims.eps);
    scale = 1.0 / sqrt(scale);
    v = v * scale;
    y[dims.row_offset + row0 + t] = v;
  }
}
