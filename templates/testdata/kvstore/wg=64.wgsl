// tune kernel kvstore wg=64
struct Dims {
  kv_dim: u32,
  pos: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> kcache: array<f32>;
@group(0) @binding(4) var<storage, read_write> vcache: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i < dims.kv_dim) {
    let o = dims.pos * dims.kv_dim + i;
    kcache[o] = k[i];
    vcache[o] = v[i];
  }
}
