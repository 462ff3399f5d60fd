// tune kernel gemv wg=32/rows=2/vec=1/unpack=shift/fold=false/split=2/layout=beside/depth=4/acc int4-g32-asym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  // Workgroup g takes rows (g / Split) * Rows.. and the K range part.
  let part = (wid.y * nwg.x + wid.x) % 2u;
  let row0 = (wid.y * nwg.x + wid.x) / 2u * 2u;
  let chunks = dims.cols / 8u;
  // Blocks per row: each 16 loads of codes, then four scales and four mins.
  let bpr = chunks / 16u;
  var acc: array<f32, 2>;
  let per = chunks / 2u;
  let jbeg = part * per + t;
  let jend = (part + 1u) * per;
  let row_0 = min(row0 + 0u, dims.rows - 1u);
  let row_1 = min(row0 + 1u, dims.rows - 1u);
  // 4 chunks a trip: every load of the trip is issued before any
  // is used; chunks past the end load the last one again, unused.
  for (var j = jbeg; j < jend; j = j + 128u) {
    let j0 = min(j + 0u, jend - 1u);
    let c00 = j0 * 8u;
    let x0_0 = x[c00 / 4u + 0u];
    let x1_0 = x[c00 / 4u + 1u];
      let blk_0_0 = (row_0 * bpr + j0 / 16u) * 24u;
      let wv_0_0 = w[blk_0_0 + j0 % 16u];
      let q_0_0 = (c00 / 32u) % 4u;
      let sc_0_0 = bitcast<f32>(w[blk_0_0 + 16u + q_0_0]);
      let mn_0_0 = bitcast<f32>(w[blk_0_0 + 16u + 4u + q_0_0]);
      let blk_0_1 = (row_1 * bpr + j0 / 16u) * 24u;
      let wv_0_1 = w[blk_0_1 + j0 % 16u];
      let q_0_1 = (c00 / 32u) % 4u;
      let sc_0_1 = bitcast<f32>(w[blk_0_1 + 16u + q_0_1]);
      let mn_0_1 = bitcast<f32>(w[blk_0_1 + 16u + 4u + q_0_1]);
    let j1 = min(j + 32u, jend - 1u);
    let c01 = j1 * 8u;
    let x0_1 = x[c01 / 4u + 0u];
    let x1_1 = x[c01 / 4u + 1u];
      let blk_1_0 = (row_0 * bpr + j1 / 16u) * 24u;
      let wv_1_0 = w[blk_1_0 + j1 % 16u];
      let q_1_0 = (c01 / 32u) % 4u;
      let sc_1_0 = bitcast<f32>(w[blk_1_0 + 16u + q_1_0]);
      let mn_1_0 = bitcast<f32>(w[blk_1_0 + 16u + 4u + q_1_0]);
      let blk_1_1 = (row_1 * bpr + j1 / 16u) * 24u;
      let wv_1_1 = w[blk_1_1 + j1 % 16u];
      let q_1_1 = (c01 / 32u) % 4u;
      let sc_1_1 = bitcast<f32>(w[blk_1_1 + 16u + q_1_1]);
      let mn_1_1 = bitcast<f32>(w[blk_1_1 + 16u + 4u + q_1_1]);
    let j2 = min(j + 64u, jend - 1u);
    let c02 = j2 * 8u;
    let x0_2 = x[c02 / 4u + 0u];
    let x1_2 = x[c02 / 4u + 1u];
      let blk_2_0 = (row_0 * bpr + j2 / 16u) * 24u;
      let wv_2_0 = w[blk_2_0 + j2 % 16u];
      let q_2_0 = (c02 / 32u) % 4u;
      let sc_2_0 = bitcast<f32>(w[blk_2_0 + 16u + q_2_0]);
      let mn_2_0 = bitcast<f32>(w[blk_2_0 + 16u + 4u + q_2_0]);
      let blk_2_1 = (row_1 * bpr + j2 / 16u) * 24u;
      let wv_2_1 = w[blk_2_1 + j2 % 16u];
      let q_2_1 = (c02 / 32u) % 4u;
      let sc_2_1 = bitcast<f32>(w[blk_2_1 + 16u + q_2_1]);
      let mn_2_1 = bitcast<f32>(w[blk_2_1 + 16u + 4u + q_2_1]);
    let j3 = min(j + 96u, jend - 1u);
    let c03 = j3 * 8u;
    let x0_3 = x[c03 / 4u + 0u];
    let x1_3 = x[c03 / 4u + 1u];
      let blk_3_0 = (row_0 * bpr + j3 / 16u) * 24u;
      let wv_3_0 = w[blk_3_0 + j3 % 16u];
      let q_3_0 = (c03 / 32u) % 4u;
      let sc_3_0 = bitcast<f32>(w[blk_3_0 + 16u + q_3_0]);
      let mn_3_0 = bitcast<f32>(w[blk_3_0 + 16u + 4u + q_3_0]);
      let blk_3_1 = (row_1 * bpr + j3 / 16u) * 24u;
      let wv_3_1 = w[blk_3_1 + j3 % 16u];
      let q_3_1 = (c03 / 32u) % 4u;
      let sc_3_1 = bitcast<f32>(w[blk_3_1 + 16u + q_3_1]);
      let mn_3_1 = bitcast<f32>(w[blk_3_1 + 16u + 4u + q_3_1]);
    if (j + 0u < jend) {
      let x0 = x0_0;
      let x1 = x1_0;
      let sx = dot(x0 + x1, vec4<f32>(1.0));
      {
        let wv = wv_0_0;
        let sc = sc_0_0;
        let mn = mn_0_0;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[0] = acc[0] + sc * d + mn * sx;
      }
      {
        let wv = wv_0_1;
        let sc = sc_0_1;
        let mn = mn_0_1;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[1] = acc[1] + sc * d + mn * sx;
      }
    }
    if (j + 32u < jend) {
      let x0 = x0_1;
      let x1 = x1_1;
      let sx = dot(x0 + x1, vec4<f32>(1.0));
      {
        let wv = wv_1_0;
        let sc = sc_1_0;
        let mn = mn_1_0;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[0] = acc[0] + sc * d + mn * sx;
      }
      {
        let wv = wv_1_1;
        let sc = sc_1_1;
        let mn = mn_1_1;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[1] = acc[1] + sc * d + mn * sx;
      }
    }
    if (j + 64u < jend) {
      let x0 = x0_2;
      let x1 = x1_2;
      let sx = dot(x0 + x1, vec4<f32>(1.0));
      {
        let wv = wv_2_0;
        let sc = sc_2_0;
        let mn = mn_2_0;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[0] = acc[0] + sc * d + mn * sx;
      }
      {
        let wv = wv_2_1;
        let sc = sc_2_1;
        let mn = mn_2_1;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[1] = acc[1] + sc * d + mn * sx;
      }
    }
    if (j + 96u < jend) {
      let x0 = x0_3;
      let x1 = x1_3;
      let sx = dot(x0 + x1, vec4<f32>(1.0));
      {
        let wv = wv_3_0;
        let sc = sc_3_0;
        let mn = mn_3_0;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[0] = acc[0] + sc * d + mn * sx;
      }
      {
        let wv = wv_3_1;
        let sc = sc_3_1;
        let mn = mn_3_1;
        var d = 0.0;
        let u0 = wv;
        d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xfu), f32((u0 >> 4u) & 0xfu), f32((u0 >> 8u) & 0xfu), f32((u0 >> 12u) & 0xfu)), x0);
        d = d + dot(vec4<f32>(f32((u0 >> 16u) & 0xfu), f32((u0 >> 20u) & 0xfu), f32((u0 >> 24u) & 0xfu), f32((u0 >> 28u) & 0xfu)), x1);
        acc[1] = acc[1] + sc * d + mn * sx;
      }
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
    // This part's sums; GemvReduce adds the parts into the output.
    y[part * dims.rows + row0 + t] = v;
  }
}
