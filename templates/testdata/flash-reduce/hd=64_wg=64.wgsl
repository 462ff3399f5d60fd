// tune kernel flash-reduce hd=64/wg=64
struct Attn {
  heads: u32,
  kv_heads: u32,
  q_len: u32,
  q_pos: u32,
  chunk: u32,
  split: u32,
  floor_scale: u32,
  attn_scale: u32,
}

@group(0) @binding(0) var<uniform> dims: Attn;
@group(0) @binding(1) var<storage, read> opart: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mlpart: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.x;
  let pos = dims.q_pos;
  var lo = 0u;
  if (dims.chunk != 0u) {
    lo = (pos / dims.chunk) * dims.chunk;
  }
  let splits = (pos + 1u - lo + dims.split - 1u) / dims.split;
  var mx = -3.4e+38;
  for (var s = 0u; s < splits; s = s + 1u) {
    mx = max(mx, mlpart[(s * dims.heads + h) * 2u]);
  }
  var total = 0.0;
  for (var s = 0u; s < splits; s = s + 1u) {
    let at = (s * dims.heads + h) * 2u;
    total = total + mlpart[at + 1u] * exp(mlpart[at] - mx);
  }
  for (var c = lid.x; c < 16u; c = c + 64u) {
    var o = vec4<f32>(0.0);
    for (var s = 0u; s < splits; s = s + 1u) {
      let at = s * dims.heads + h;
      o = o + opart[at * 16u + c] * exp(mlpart[at * 2u] - mx);
    }
    out[h * 16u + c] = o / total;
  }
}
