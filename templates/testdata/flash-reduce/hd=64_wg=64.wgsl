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

var<workgroup> ws: array<f32, 1024>;
var<workgroup> red: array<f32, 64>;
var<workgroup> share: array<vec4<f32>, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lt = lid.x;
  let h = wid.x;
  let pos = dims.q_pos;
  var lo = 0u;
  if (dims.chunk != 0u) {
    lo = (pos / dims.chunk) * dims.chunk;
  }
  let splits = min((pos + 1u - lo + dims.split - 1u) / dims.split, 1024u);

  var mx = -3.4e+38;
  for (var s = lt; s < splits; s = s + 64u) {
    mx = max(mx, mlpart[(s * dims.heads + h) * 2u]);
  }
  red[lt] = mx;
  workgroupBarrier();
  for (var k = 32u; k > 0u; k = k >> 1u) {
    if (lt < k) {
      red[lt] = max(red[lt], red[lt + k]);
    }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();

  var sum = 0.0;
  for (var s = lt; s < splits; s = s + 64u) {
    let at = (s * dims.heads + h) * 2u;
    let e = exp(mlpart[at] - m);
    ws[s] = e;
    sum = sum + mlpart[at + 1u] * e;
  }
  red[lt] = sum;
  workgroupBarrier();
  for (var k = 32u; k > 0u; k = k >> 1u) {
    if (lt < k) {
      red[lt] = red[lt] + red[lt + k];
    }
    workgroupBarrier();
  }
  let total = red[0];

  // Columns c of this workgroup's block; Parts groups of threads each take
  // every Parts-th split, and the shares are added in order.
  let part = lt / 16u;
  let c = wid.y * 16u + lt % 16u;
  var o = vec4<f32>(0.0);
  for (var s = part; s < splits; s = s + 4u) {
    o = o + opart[(s * dims.heads + h) * 16u + c] * ws[s];
  }
  share[lt] = o;
  workgroupBarrier();
  if (lt < 16u) {
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j = j + 1u) {
      acc = acc + share[j * 16u + lt];
    }
    out[h * 16u + c] = acc / total;
  }
}
