// tune kernel embedq wg=256
// table format int8-g128-sym
struct Dims {
  rows: u32,
  cols: u32,
  glen: u32,
  row_offset: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> token: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.y * nwg.x * 256u + gid.x;
  // A token before this part wraps around to a row past its end.
  let r = token[0] - dims.row_offset;
  if (c >= dims.cols || r >= dims.rows) {
    return;
  }
  let word = w[r * (dims.cols >> 2u) + (c >> 2u)];
  let u = (word >> ((c & 3u) * 8u)) & 255u;
  let g = r * (dims.cols / dims.glen) + c / dims.glen;
  out[c] = f32(i32(u) - 128i) * scales[g];
}
