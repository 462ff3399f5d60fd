// tune kernel gemv wg=32/rows=8/vec=2/unpack=shift/fold=true/split=2/layout=beside int2-g64-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  // Workgroup g takes rows (g / Split) * Rows.. and the K range part.
  let part = (wid.y * nwg.x + wid.x) % 2u;
  let row0 = (wid.y * nwg.x + wid.x) / 2u * 8u;
  let chunks = dims.cols / 32u;
  // Blocks per row: each 8 loads of codes, then four scales.
  let bpr = chunks / 8u;
  var acc: array<f32, 8>;
  let per = chunks / 2u;
  for (var j = part * per + t; j < (part + 1u) * per; j = j + 32u) {
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
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[0] = acc[0] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[1] = acc[1] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[2] = acc[2] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[3] = acc[3] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 4u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[4] = acc[4] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 5u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[5] = acc[5] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 6u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[6] = acc[6] + sc * (d - 2.0 * sx);
    }
    {
      let row = min(row0 + 7u, dims.rows - 1u);
      let blk = (row * bpr + j / 8u) * 10u;
      let wv = w[blk + j % 8u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 8u + q / 2u][q % 2u]);
      var d = 0.0;
      let u0 = wv[0];
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0x3u), f32((u0 >> 2u) & 0x3u), f32((u0 >> 4u) & 0x3u), f32((u0 >> 6u) & 0x3u)), x0);
      d = d + dot(vec4<f32>(f32((u0 >> 8u) & 0x3u), f32((u0 >> 10u) & 0x3u), f32((u0 >> 12u) & 0x3u), f32((u0 >> 14u) & 0x3u)), x1);
      d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0x3u), f32((u0 >> 18u) & 0x3u), f32((u0 >> 20u) & 0x3u), f32((u0 >> 22u) & 0x3u)), x2);
      d = d + dot(vec4<f32>(f32((u0 >> 24u) & 0x3u), f32((u0 >> 26u) & 0x3u), f32((u0 >> 28u) & 0x3u), f32((u0 >> 30u) & 0x3u)), x3);
      let u1 = wv[1];
      d = d + dot(vec4<f32>(f32((u1 >> 0u) & 0x3u), f32((u1 >> 2u) & 0x3u), f32((u1 >> 4u) & 0x3u), f32((u1 >> 6u) & 0x3u)), x4);
      d = d + dot(vec4<f32>(f32((u1 >> 8u) & 0x3u), f32((u1 >> 10u) & 0x3u), f32((u1 >> 12u) & 0x3u), f32((u1 >> 14u) & 0x3u)), x5);
      d = d + dot(vec4<f32>(f32((u1 >> 16u) & 0x3u), f32((u1 >> 18u) & 0x3u), f32((u1 >> 20u) & 0x3u), f32((u1 >> 22u) & 0x3u)), x6);
      d = d + dot(vec4<f32>(f32((u1 >> 24u) & 0x3u), f32((u1 >> 26u) & 0x3u), f32((u1 >> 28u) & 0x3u), f32((u1 >> 30u) & 0x3u)), x7);
      acc[7] = acc[7] + sc * (d - 2.0 * sx);
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
    // This part's sums; GemvReduce adds the parts into the output.
    y[part * dims.rows + row0 + t] = v;
  }
}
