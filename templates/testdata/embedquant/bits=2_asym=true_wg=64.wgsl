// tune kernel embedquant bits=2/asym=true/wg=64
struct Dims {
  dim: u32,
  glen: u32,
  rows: u32,
  row_offset: u32,
  part_rows: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> mins: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i >= dims.rows * dims.dim) {
    return;
  }
  let tok = tokens[i / dims.dim];
  if (tok < dims.row_offset || tok - dims.row_offset >= dims.part_rows) {
    return;
  }
  let row = tok - dims.row_offset;
  let c = i % dims.dim;
  let word = w[row * (dims.dim / 16u) + c / 16u];
  let u = (word >> ((c % 16u) * 2u)) & 0x3u;
  let g = row * (dims.dim / dims.glen) + c / dims.glen;
  out[i] = f32(u) * scales[g] + mins[g];
}
