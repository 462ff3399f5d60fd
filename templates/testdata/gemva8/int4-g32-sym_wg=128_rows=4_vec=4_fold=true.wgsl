// tune kernel gemva8 wg=128/rows=4/vec=4/fold=true int4-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> xq: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> xscale: array<f32>;

var<workgroup> partial: array<f32, 512>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 4u;
  let loads = dims.cols / 32u;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 4>;
  for (var j = t; j < loads; j = j + 128u) {
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
    let sa = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    let sx = 8i * (sa.x + sa.y + sa.z + sa.w);
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a3;
      let p4 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a4;
      let p5 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a5;
      let p6 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a6;
      let p7 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a7;
      let ps = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[0] = acc[0] + scales[row * gpr + c0 / 32u] * f32(d);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a3;
      let p4 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a4;
      let p5 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a5;
      let p6 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a6;
      let p7 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a7;
      let ps = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[1] = acc[1] + scales[row * gpr + c0 / 32u] * f32(d);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a3;
      let p4 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a4;
      let p5 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a5;
      let p6 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a6;
      let p7 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a7;
      let ps = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[2] = acc[2] + scales[row * gpr + c0 / 32u] * f32(d);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a3;
      let p4 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a4;
      let p5 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a5;
      let p6 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(0xfu))) * a6;
      let p7 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(0xfu))) * a7;
      let ps = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[3] = acc[3] + scales[row * gpr + c0 / 32u] * f32(d);
    }
  }
  partial[0u * 128u + t] = acc[0];
  partial[1u * 128u + t] = acc[1];
  partial[2u * 128u + t] = acc[2];
  partial[3u * 128u + t] = acc[3];
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 128u + t] = partial[0u * 128u + t] + partial[0u * 128u + t + s];
      partial[1u * 128u + t] = partial[1u * 128u + t] + partial[1u * 128u + t + s];
      partial[2u * 128u + t] = partial[2u * 128u + t] + partial[2u * 128u + t + s];
      partial[3u * 128u + t] = partial[3u * 128u + t] + partial[3u * 128u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 4u && row0 + t < dims.rows) {
    y[dims.row_offset + row0 + t] = partial[t * 128u] * xscale[0];
  }
}
