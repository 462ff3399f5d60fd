// tune kernel gemva8 wg=64/rows=2/vec=1/fold=false int8-g32-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> xq: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> xscale: array<f32>;

var<workgroup> partial: array<f32, 128>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let row0 = (wid.y * nwg.x + wid.x) * 2u;
  let loads = dims.cols / 4u;
  let gpr = dims.cols / dims.glen;
  var acc: array<f32, 2>;
  for (var j = t; j < loads; j = j + 64u) {
    let c0 = j * 4u;
    let x0 = c0 / 4u;
    let a0 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 0u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    {
      let row = min(row0 + 0u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu)) - vec4<i32>(128i)) * a0;
      let ps = p0;
      let d = ps.x + ps.y + ps.z + ps.w;
      acc[0] = acc[0] + scales[row * gpr + c0 / 32u] * f32(d);
    }
    {
      let row = min(row0 + 1u, dims.rows - 1u);
      let wv = w[row * loads + j];
      let p0 = (bitcast<vec4<i32>>((vec4<u32>(wv) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu)) - vec4<i32>(128i)) * a0;
      let ps = p0;
      let d = ps.x + ps.y + ps.z + ps.w;
      acc[1] = acc[1] + scales[row * gpr + c0 / 32u] * f32(d);
    }
  }
  partial[0u * 64u + t] = acc[0];
  partial[1u * 64u + t] = acc[1];
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (t < s) {
      partial[0u * 64u + t] = partial[0u * 64u + t] + partial[0u * 64u + t + s];
      partial[1u * 64u + t] = partial[1u * 64u + t] + partial[1u * 64u + t + s];
    }
    workgroupBarrier();
  }
  if (t < 2u && row0 + t < dims.rows) {
    y[dims.row_offset + row0 + t] = partial[t * 64u] * xscale[0];
  }
}
