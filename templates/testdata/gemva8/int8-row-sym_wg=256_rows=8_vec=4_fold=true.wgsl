// tune kernel gemva8 wg=256/rows=8/vec=4/fold=true int8-row-sym
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

var<workgroup> partial: array<f32, 2048>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 8u;
  let loads = dims.cols / 16u;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 8>;
  for (var j = t; j < loads; j = j + 256u) {
    let c0 = j * 16u;
    let x0 = c0 / 4u;
    let a0 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 0u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a1 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 1u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a2 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 2u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let a3 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 3u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    let sa = a0 + a1 + a2 + a3;
    let sx = 128i * (sa.x + sa.y + sa.z + sa.w);
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[0] = acc[0] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[1] = acc[1] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 2u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[2] = acc[2] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 3u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[3] = acc[3] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 4u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[4] = acc[4] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 5u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[5] = acc[5] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 6u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[6] = acc[6] + scales[row] * f32(d);
    }
    {
      let row = min(row0 + 7u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv[0]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a0;
      let p1 = (bitcast<vec4<i32>>((vec4<u32>(wv[1]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a1;
      let p2 = (bitcast<vec4<i32>>((vec4<u32>(wv[2]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a2;
      let p3 = (bitcast<vec4<i32>>((vec4<u32>(wv[3]) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu))) * a3;
      let ps = p0 + p1 + p2 + p3;
      let d = ps.x + ps.y + ps.z + ps.w - sx;
      acc[7] = acc[7] + scales[row] * f32(d);
    }
  }
  partial[0u * 256u + t] = acc[0];
  partial[1u * 256u + t] = acc[1];
  partial[2u * 256u + t] = acc[2];
  partial[3u * 256u + t] = acc[3];
  partial[4u * 256u + t] = acc[4];
  partial[5u * 256u + t] = acc[5];
  partial[6u * 256u + t] = acc[6];
  partial[7u * 256u + t] = acc[7];
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 256u + t] = partial[0u * 256u + t] + partial[0u * 256u + t + s];
      partial[1u * 256u + t] = partial[1u * 256u + t] + partial[1u * 256u + t + s];
      partial[2u * 256u + t] = partial[2u * 256u + t] + partial[2u * 256u + t + s];
      partial[3u * 256u + t] = partial[3u * 256u + t] + partial[3u * 256u + t + s];
      partial[4u * 256u + t] = partial[4u * 256u + t] + partial[4u * 256u + t + s];
      partial[5u * 256u + t] = partial[5u * 256u + t] + partial[5u * 256u + t + s];
      partial[6u * 256u + t] = partial[6u * 256u + t] + partial[6u * 256u + t + s];
      partial[7u * 256u + t] = partial[7u * 256u + t] + partial[7u * 256u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 8u && row0 + t < dims.rows) {
    y[dims.row_offset + row0 + t] = partial[t * 256u] * xscale[0];
  }
}
