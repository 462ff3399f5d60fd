// tune kernel gemv wg=64/rows=4/vec=4/unpack=half/fold=false/layout=beside int4-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 4u;
  let chunks = dims.cols / 32u;
  // Blocks per row: each 4 loads of codes, then four scales.
  let bpr = chunks / 4u;
  var acc: array<f32, 4>;
  for (var j = t; j < chunks; j = j + 64u) {
    let c0 = j * 32u;
    let x0 = x[c0 / 4u + 0u];
    let x1 = x[c0 / 4u + 1u];
    let x2 = x[c0 / 4u + 2u];
    let x3 = x[c0 / 4u + 3u];
    let x4 = x[c0 / 4u + 4u];
    let x5 = x[c0 / 4u + 5u];
    let x6 = x[c0 / 4u + 6u];
    let x7 = x[c0 / 4u + 7u];
    let sx = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let blk = (row * bpr + j / 4u) * 5u;
      let wv = w[blk + j % 4u];
      let q = (c0 / 32u) % 4u;
      let sc = bitcast<f32>(w[blk + 4u + q / 4u][q % 4u]);
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
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_2 = unpack2x16float(((u2 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_3 = unpack2x16float(((u2 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_2.x, h2_3.x), x4);
      d = d + dot(vec4<f32>(h2_0.y, h2_1.y, h2_2.y, h2_3.y), x5);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_2 = unpack2x16float(((u3 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_3 = unpack2x16float(((u3 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_2.x, h3_3.x), x6);
      d = d + dot(vec4<f32>(h3_0.y, h3_1.y, h3_2.y, h3_3.y), x7);
      acc[0] = acc[0] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let blk = (row * bpr + j / 4u) * 5u;
      let wv = w[blk + j % 4u];
      let q = (c0 / 32u) % 4u;
      let sc = bitcast<f32>(w[blk + 4u + q / 4u][q % 4u]);
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
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_2 = unpack2x16float(((u2 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_3 = unpack2x16float(((u2 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_2.x, h2_3.x), x4);
      d = d + dot(vec4<f32>(h2_0.y, h2_1.y, h2_2.y, h2_3.y), x5);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_2 = unpack2x16float(((u3 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_3 = unpack2x16float(((u3 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_2.x, h3_3.x), x6);
      d = d + dot(vec4<f32>(h3_0.y, h3_1.y, h3_2.y, h3_3.y), x7);
      acc[1] = acc[1] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let blk = (row * bpr + j / 4u) * 5u;
      let wv = w[blk + j % 4u];
      let q = (c0 / 32u) % 4u;
      let sc = bitcast<f32>(w[blk + 4u + q / 4u][q % 4u]);
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
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_2 = unpack2x16float(((u2 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_3 = unpack2x16float(((u2 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_2.x, h2_3.x), x4);
      d = d + dot(vec4<f32>(h2_0.y, h2_1.y, h2_2.y, h2_3.y), x5);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_2 = unpack2x16float(((u3 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_3 = unpack2x16float(((u3 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_2.x, h3_3.x), x6);
      d = d + dot(vec4<f32>(h3_0.y, h3_1.y, h3_2.y, h3_3.y), x7);
      acc[2] = acc[2] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let blk = (row * bpr + j / 4u) * 5u;
      let wv = w[blk + j % 4u];
      let q = (c0 / 32u) % 4u;
      let sc = bitcast<f32>(w[blk + 4u + q / 4u][q % 4u]);
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
      let u2 = wv[2];
      let h2_0 = unpack2x16float(((u2 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_1 = unpack2x16float(((u2 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_2 = unpack2x16float(((u2 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h2_3 = unpack2x16float(((u2 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h2_0.x, h2_1.x, h2_2.x, h2_3.x), x4);
      d = d + dot(vec4<f32>(h2_0.y, h2_1.y, h2_2.y, h2_3.y), x5);
      let u3 = wv[3];
      let h3_0 = unpack2x16float(((u3 << 6u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_1 = unpack2x16float(((u3 << 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_2 = unpack2x16float(((u3 >> 2u) & 0x03c003c0u) | 0x3c003c00u);
      let h3_3 = unpack2x16float(((u3 >> 6u) & 0x03c003c0u) | 0x3c003c00u);
      d = d + dot(vec4<f32>(h3_0.x, h3_1.x, h3_2.x, h3_3.x), x6);
      d = d + dot(vec4<f32>(h3_0.y, h3_1.y, h3_2.y, h3_3.y), x7);
      acc[3] = acc[3] + sc * (16.0 * (d - sx) - 8.0 * sx);
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  partial[2u * 64u + t] = acc[2];
  partial[3u * 64u + t] = acc[3];
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
      partial[2u * 64u + t] = partial[2u * 64u + t] + partial[2u * 64u + t + s];
      partial[3u * 64u + t] = partial[3u * 64u + t] + partial[3u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 4u && row0 + t < dims.rows) {
    var v = partial[t * 64u];
    y[dims.row_offset + row0 + t] = v;
  }
}
