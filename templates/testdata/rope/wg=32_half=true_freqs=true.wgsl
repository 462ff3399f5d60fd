// tune kernel rope wg=32/half=true/freqs=true
struct Dims {
  heads: u32,
  head_dim: u32,
  rope_dim: u32,
  pos: u32,
}

struct Base {
  theta: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> base: Base;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> freqs: array<f32>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 32u + gid.x;
  let pairs = dims.rope_dim / 2u;
  if (g >= dims.heads * pairs) {
    return;
  }
  let h = g / pairs;
  let i = g % pairs;
  let freq = 1.0 / pow(bitcast<f32>(base.theta), f32(2u * i) / f32(dims.rope_dim));
  let val = (f32(dims.pos) * freq) / freqs[i];
  let fcr = cos(val);
  let fci = sin(val);
  let i0 = h * dims.head_dim + i;
  let i1 = i0 + pairs;
  let v0 = v[i0];
  let v1 = v[i1];
  v[i0] = v0 * fcr - v1 * fci;
  v[i1] = v0 * fci + v1 * fcr;
}
