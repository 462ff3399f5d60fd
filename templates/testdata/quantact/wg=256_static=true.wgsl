// tune kernel quantact wg=256/static=true
struct Dims {
  cols: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> xq: array<u32>;
@group(0) @binding(3) var<storage, read_write> scale: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let token = wid.x;
  let n = dims.cols / 4u;
  let base = token * n;
  let s = scale[0];
  var inv = 0.0;
  if (s > 0.0) {
    inv = 1.0 / s;
  }
  for (var j = t; j < n; j = j + 256u) {
    let q = vec4<i32>(clamp(round(x[base + j] * inv), vec4<f32>(-127.0), vec4<f32>(127.0)));
    let b = bitcast<vec4<u32>>(q) & vec4<u32>(0xffu);
    xq[base + j] = b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
  }
}
