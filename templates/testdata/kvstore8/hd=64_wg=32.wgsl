// tune kernel kvstore8 hd=64/wg=32
struct Store {
  kv_heads: u32,
  rows: u32,
  pos: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Store;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> kcache: array<u32>;
@group(0) @binding(4) var<storage, read_write> kscale: array<f32>;
@group(0) @binding(5) var<storage, read_write> vcache: array<u32>;
@group(0) @binding(6) var<storage, read_write> vscale: array<f32>;

var<workgroup> red: array<f32, 32>;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lt = lid.x;
  let r = wid.x;
  let g = wid.y;
  let src = (r * dims.kv_heads + g) * 16u;
  let at = (dims.pos + r) * dims.kv_heads + g;
  let dst = at * 16u;
{
    var mx = 0.0;
    for (var c = lt; c < 16u; c = c + 32u) {
      let x = abs(k[src + c]);
      mx = max(mx, max(max(x.x, x.y), max(x.z, x.w)));
    }
    red[lt] = mx;
    workgroupBarrier();
    for (var s = 16u; s > 0u; s = s >> 1u) {
      if (lt < s) {
        red[lt] = max(red[lt], red[lt + s]);
      }
      workgroupBarrier();
    }
    let scale = red[0] / 127.0;
    workgroupBarrier();
    for (var c = lt; c < 16u; c = c + 32u) {
      var qv = vec4<f32>(0.0);
      if (scale > 0.0) {
        qv = clamp(round(k[src + c] / scale), vec4<f32>(-127.0), vec4<f32>(127.0));
      }
      let b = bitcast<vec4<u32>>(vec4<i32>(qv)) & vec4<u32>(255u);
      kcache[dst + c] = b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
    }
    if (lt == 0u) {
      kscale[at] = scale;
    }
  }
  workgroupBarrier();
{
    var mx = 0.0;
    for (var c = lt; c < 16u; c = c + 32u) {
      let x = abs(v[src + c]);
      mx = max(mx, max(max(x.x, x.y), max(x.z, x.w)));
    }
    red[lt] = mx;
    workgroupBarrier();
    for (var s = 16u; s > 0u; s = s >> 1u) {
      if (lt < s) {
        red[lt] = max(red[lt], red[lt + s]);
      }
      workgroupBarrier();
    }
    let scale = red[0] / 127.0;
    workgroupBarrier();
    for (var c = lt; c < 16u; c = c + 32u) {
      var qv = vec4<f32>(0.0);
      if (scale > 0.0) {
        qv = clamp(round(v[src + c] / scale), vec4<f32>(-127.0), vec4<f32>(127.0));
      }
      let b = bitcast<vec4<u32>>(vec4<i32>(qv)) & vec4<u32>(255u);
      vcache[dst + c] = b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
    }
    if (lt == 0u) {
      vscale[at] = scale;
    }
  }
}
