// tune kernel gemva8 wg=32/rows=1/vec=2/fold=false int2-g64-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> xq: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> xscale: array<f32>;

var<workgroup> partial: array<f32, 32>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 1u;
  let loads = dims.cols / 32u;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 1>;
  for (var j = t; j < loads; j = j + 32u) {
    let c0 = j * 32u;
    let x0 = c0 / 4u;
    let a0 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 0u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a1 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 1u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a2 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 2u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a3 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 3u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a4 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 4u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a5 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 5u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a6 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 6u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a7 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 7u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 2u, 4u, 6u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(8u, 10u, 12u, 14u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(16u, 18u, 20u, 22u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(24u, 26u, 28u, 30u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a3;
      let p4 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 2u, 4u, 6u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a4;
      let p5 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(8u, 10u, 12u, 14u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a5;
      let p6 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(16u, 18u, 20u, 22u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a6;
      let p7 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(24u, 26u, 28u, 30u)) & vec4<u32>(0x3u)) - vec4<i32>(2i)) * a7;
      let ps = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
      let d = ps.x + ps.y + ps.z + ps.w;
      acc[0] = acc[0] + scales[row * gpr + c0 / 64u] * f32(d);
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
    y[dims.row_offset + row0 + t] = partial[t * 32u] * xscale[0];
  }
}
