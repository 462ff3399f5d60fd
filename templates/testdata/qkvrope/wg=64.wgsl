// tune kernel qkvrope wg=64
struct Dims {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  rope_dim: u32,
}

struct Step {
  theta: u32,
  pos: u32,
  rows: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
@group(0) @binding(4) var<storage, read_write> kcache: array<f32>;
@group(0) @binding(5) var<storage, read_write> vcache: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.y * nwg.x * 64u + gid.x;
  let qdim = dims.heads * dims.head_dim;
  let kvdim = dims.kv_heads * dims.head_dim;
  let width = qdim + 2u * kvdim;
  let pairs = width / 2u;
  if (g >= step.rows * pairs) {
    return;
  }
  let r = g / pairs;
  let e = (g % pairs) * 2u;
  let pos = step.pos + r;
  let x0 = qkv[r * width + e];
  let x1 = qkv[r * width + e + 1u];
  if (e >= qdim + kvdim) {
    let o = pos * kvdim + e - qdim - kvdim;
    vcache[o] = x0;
    vcache[o + 1u] = x1;
    return;
  }
  var y0 = x0;
  var y1 = x1;
  let d = e % dims.head_dim;
  if (d < dims.rope_dim) {
    let i = d / 2u;
    let freq = 1.0 / pow(bitcast<f32>(step.theta), f32(2u * i) / f32(dims.rope_dim));
    let val = f32(pos) * freq;
    let fcr = cos(val);
    let fci = sin(val);
    y0 = x0 * fcr - x1 * fci;
    y1 = x0 * fci + x1 * fcr;
  }
  if (e < qdim) {
    q[r * qdim + e] = y0;
    q[r * qdim + e + 1u] = y1;
  } else {
    let o = pos * kvdim + e - qdim;
    kcache[o] = y0;
    kcache[o + 1u] = y1;
  }
}
