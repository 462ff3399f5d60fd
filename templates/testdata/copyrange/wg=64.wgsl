// tune kernel copyrange wg=64
struct Dims {
  n: u32,
  src_offset: u32,
  dst_offset: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i < dims.n) {
    dst[dims.dst_offset + i] = src[dims.src_offset + i];
  }
}
