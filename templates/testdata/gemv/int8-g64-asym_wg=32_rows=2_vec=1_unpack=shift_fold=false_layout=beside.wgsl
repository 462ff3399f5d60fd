// tune kernel gemv wg=32/rows=2/vec=1/unpack=shift/fold=false/layout=beside int8-g64-asym
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
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let chunks = dims.cols / 4u;
  // Blocks per row: each 64 loads of codes, then four scales and four mins.
  let bpr = chunks / 64u;
  var acc: array<f32, 2>;
  for (var j = t; j < chunks; j = j + 32u) {
    let c0 = j * 4u;
    let x0 = x[c0 / 4u + 0u];
    let sx = dot(x0, vec4<f32>(1.0));
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let blk = (row * bpr + j / 64u) * 72u;
      let wv = w[blk + j % 64u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 64u + q]);
      let mn = bitcast<f32>(w[blk + 64u + 4u + q]);
      var d = 0.0;
      let u0 = wv;
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xffu), f32((u0 >> 8u) & 0xffu), f32((u0 >> 16u) & 0xffu), f32((u0 >> 24u) & 0xffu)), x0);
      acc[0] = acc[0] + sc * d + mn * sx;
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let blk = (row * bpr + j / 64u) * 72u;
      let wv = w[blk + j % 64u];
      let q = (c0 / 64u) % 4u;
      let sc = bitcast<f32>(w[blk + 64u + q]);
      let mn = bitcast<f32>(w[blk + 64u + 4u + q]);
      var d = 0.0;
      let u0 = wv;
      d = d + dot(vec4<f32>(f32((u0 >> 0u) & 0xffu), f32((u0 >> 8u) & 0xffu), f32((u0 >> 16u) & 0xffu), f32((u0 >> 24u) & 0xffu)), x0);
      acc[1] = acc[1] + sc * d + mn * sx;
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
