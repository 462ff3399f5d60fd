// tune kernel flash-decode hd=128/g=2/wg=128/bt=16/kv8=true/stagev/final
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
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;

@group(0) @binding(2) var<storage, read> kcache: array<u32>;
@group(0) @binding(3) var<storage, read> vcache: array<u32>;
@group(0) @binding(4) var<storage, read> kscale: array<f32>;
@group(0) @binding(5) var<storage, read> vscale: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> qs: array<vec4<f32>, 64>;
var<workgroup> kt: array<vec4<f32>, 528>;
var<workgroup> vt: array<vec4<f32>, 528>;
var<workgroup> st: array<f32, 32>;
var<workgroup> mw: array<f32, 2>;
var<workgroup> cw: array<f32, 2>;

const NEG: f32 = -3.4e+38; // a masked score, below any real one

// Four int8 codes of a word, element j in byte j.
fn unpack8(w: u32) -> vec4<f32> {
  return vec4<f32>(f32(bitcast<i32>(w << 24u) >> 24u), f32(bitcast<i32>(w << 16u) >> 24u),
                   f32(bitcast<i32>(w << 8u) >> 24u), f32(bitcast<i32>(w) >> 24u));
}

// Elements 4c..4c+3 of key/value head g at position p.
fn key(p: u32, g: u32, c: u32) -> vec4<f32> {
  return unpack8(kcache[(p * dims.kv_heads + g) * 32u + c]) * kscale[p * dims.kv_heads + g];
}

fn value(p: u32, g: u32, c: u32) -> vec4<f32> {
  return unpack8(vcache[(p * dims.kv_heads + g) * 32u + c]) * vscale[p * dims.kv_heads + g];
}

// The first key position a query at p sees.
fn first_key(p: u32) -> u32 {
  if (dims.chunk == 0u) {
    return 0u;
  }
  return (p / dims.chunk) * dims.chunk;
}

// Llama 4's attention temperature for a query at p; 1 when off.
fn temperature(p: u32) -> f32 {
  let fs = bitcast<f32>(dims.floor_scale);
  if (fs == 0.0) {
    return 1.0;
  }
  return log(floor(f32(p + 1u) / fs) + 1.0) * bitcast<f32>(dims.attn_scale) + 1.0;
}

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lt = lid.x;
  let split = wid.x;
  let g = wid.y;
  let h0 = g * 2u;
  let pos = dims.q_pos;
  let start = first_key(pos) + split * dims.split;
  let end = min(start + dims.split, pos + 1u);
  let scale = sqrt(128.0);

  let temp = temperature(pos);
  for (var i = lt; i < 64u; i = i + 128u) {
    qs[i] = q[h0 * 32u + i] * temp;
  }
  var m = NEG;
  var l = 0.0;
  var acc: array<vec4<f32>, 1>;
  acc[0] = vec4<f32>(0.0);
  // Thread lt loads vec4s lt + i*WG of a tile; the next tile's are in
  // flight in registers while this one is computed on.
  var pk: array<vec4<f32>, 4>;
  var pv: array<vec4<f32>, 4>;
  {
    let idx = lt + 0u * 128u;
    let r = idx / 32u;
    pk[0] = vec4<f32>(0.0);
    pv[0] = vec4<f32>(0.0);
    if (idx < 512u && start + r < end) {
      pk[0] = key(start + r, g, idx % 32u);
      pv[0] = value(start + r, g, idx % 32u);
    }
  }
  {
    let idx = lt + 1u * 128u;
    let r = idx / 32u;
    pk[1] = vec4<f32>(0.0);
    pv[1] = vec4<f32>(0.0);
    if (idx < 512u && start + r < end) {
      pk[1] = key(start + r, g, idx % 32u);
      pv[1] = value(start + r, g, idx % 32u);
    }
  }
  {
    let idx = lt + 2u * 128u;
    let r = idx / 32u;
    pk[2] = vec4<f32>(0.0);
    pv[2] = vec4<f32>(0.0);
    if (idx < 512u && start + r < end) {
      pk[2] = key(start + r, g, idx % 32u);
      pv[2] = value(start + r, g, idx % 32u);
    }
  }
  {
    let idx = lt + 3u * 128u;
    let r = idx / 32u;
    pk[3] = vec4<f32>(0.0);
    pv[3] = vec4<f32>(0.0);
    if (idx < 512u && start + r < end) {
      pk[3] = key(start + r, g, idx % 32u);
      pv[3] = value(start + r, g, idx % 32u);
    }
  }

  for (var t0 = start; t0 < end; t0 = t0 + 16u) {
    let n = min(16u, end - t0);
    workgroupBarrier();
    {
      let idx = lt + 0u * 128u;
      if (idx < 512u) {
        let at = (idx / 32u) * 33u + idx % 32u;
        kt[at] = pk[0];
        vt[at] = pv[0];
      }
    }
    {
      let idx = lt + 1u * 128u;
      if (idx < 512u) {
        let at = (idx / 32u) * 33u + idx % 32u;
        kt[at] = pk[1];
        vt[at] = pv[1];
      }
    }
    {
      let idx = lt + 2u * 128u;
      if (idx < 512u) {
        let at = (idx / 32u) * 33u + idx % 32u;
        kt[at] = pk[2];
        vt[at] = pv[2];
      }
    }
    {
      let idx = lt + 3u * 128u;
      if (idx < 512u) {
        let at = (idx / 32u) * 33u + idx % 32u;
        kt[at] = pk[3];
        vt[at] = pv[3];
      }
    }
    workgroupBarrier();
    {
      let idx = lt + 0u * 128u;
      let p = t0 + 16u + idx / 32u;
      pk[0] = vec4<f32>(0.0);
      pv[0] = vec4<f32>(0.0);
      if (idx < 512u && p < end) {
        pk[0] = key(p, g, idx % 32u);
        pv[0] = value(p, g, idx % 32u);
      }
    }
    {
      let idx = lt + 1u * 128u;
      let p = t0 + 16u + idx / 32u;
      pk[1] = vec4<f32>(0.0);
      pv[1] = vec4<f32>(0.0);
      if (idx < 512u && p < end) {
        pk[1] = key(p, g, idx % 32u);
        pv[1] = value(p, g, idx % 32u);
      }
    }
    {
      let idx = lt + 2u * 128u;
      let p = t0 + 16u + idx / 32u;
      pk[2] = vec4<f32>(0.0);
      pv[2] = vec4<f32>(0.0);
      if (idx < 512u && p < end) {
        pk[2] = key(p, g, idx % 32u);
        pv[2] = value(p, g, idx % 32u);
      }
    }
    {
      let idx = lt + 3u * 128u;
      let p = t0 + 16u + idx / 32u;
      pk[3] = vec4<f32>(0.0);
      pv[3] = vec4<f32>(0.0);
      if (idx < 512u && p < end) {
        pk[3] = key(p, g, idx % 32u);
        pv[3] = value(p, g, idx % 32u);
      }
    }
    for (var i = lt; i < 32u; i = i + 128u) {
      let hh = i / 16u;
      let j = i % 16u;
      var sc = NEG;
      if (j < n) {
        // Four partial sums shorten the chain of dependent adds.
        var d = vec4<f32>(0.0);
        for (var c = 0u; c < 32u; c = c + 1u) {
          d = d + qs[hh * 32u + c] * kt[j * 33u + c];
        }
        sc = (d.x + d.y + d.z + d.w) / scale;
      }
      st[i] = sc;
    }
    workgroupBarrier();
    if (lt < 2u) {
      // Scores past n are NEG: the whole tile, unrolled, needs no bound.
      var mx = m;
      mx = max(mx, st[lt * 16u + 0u]);
      mx = max(mx, st[lt * 16u + 1u]);
      mx = max(mx, st[lt * 16u + 2u]);
      mx = max(mx, st[lt * 16u + 3u]);
      mx = max(mx, st[lt * 16u + 4u]);
      mx = max(mx, st[lt * 16u + 5u]);
      mx = max(mx, st[lt * 16u + 6u]);
      mx = max(mx, st[lt * 16u + 7u]);
      mx = max(mx, st[lt * 16u + 8u]);
      mx = max(mx, st[lt * 16u + 9u]);
      mx = max(mx, st[lt * 16u + 10u]);
      mx = max(mx, st[lt * 16u + 11u]);
      mx = max(mx, st[lt * 16u + 12u]);
      mx = max(mx, st[lt * 16u + 13u]);
      mx = max(mx, st[lt * 16u + 14u]);
      mx = max(mx, st[lt * 16u + 15u]);
      cw[lt] = exp(m - mx);
      mw[lt] = mx;
      m = mx;
    }
    workgroupBarrier();
    for (var i = lt; i < 32u; i = i + 128u) {
      var e = 0.0;
      if (i % 16u < n) {
        e = exp(st[i] - mw[i / 16u]);
      }
      st[i] = e;
    }
    workgroupBarrier();
    if (lt < 2u) {
      // Weights past n are 0; four partial sums shorten the chain.
      var sum = vec4<f32>(0.0);
      sum[0] = sum[0] + st[lt * 16u + 0u];
      sum[1] = sum[1] + st[lt * 16u + 1u];
      sum[2] = sum[2] + st[lt * 16u + 2u];
      sum[3] = sum[3] + st[lt * 16u + 3u];
      sum[0] = sum[0] + st[lt * 16u + 4u];
      sum[1] = sum[1] + st[lt * 16u + 5u];
      sum[2] = sum[2] + st[lt * 16u + 6u];
      sum[3] = sum[3] + st[lt * 16u + 7u];
      sum[0] = sum[0] + st[lt * 16u + 8u];
      sum[1] = sum[1] + st[lt * 16u + 9u];
      sum[2] = sum[2] + st[lt * 16u + 10u];
      sum[3] = sum[3] + st[lt * 16u + 11u];
      sum[0] = sum[0] + st[lt * 16u + 12u];
      sum[1] = sum[1] + st[lt * 16u + 13u];
      sum[2] = sum[2] + st[lt * 16u + 14u];
      sum[3] = sum[3] + st[lt * 16u + 15u];
      l = l * cw[lt] + ((sum.x + sum.y) + (sum.z + sum.w));
    }
    {
      let idx = lt + 0u * 128u;
      if (idx < 64u) {
        let hh = idx / 32u;
        let c = idx % 32u;
        var a = acc[0] * cw[hh];
        // Past n the weights are 0 and the staged values 0: no bound
        // needed, and the tile unrolled.
        a = a + st[hh * 16u + 0u] * vt[0u + c];
        a = a + st[hh * 16u + 1u] * vt[33u + c];
        a = a + st[hh * 16u + 2u] * vt[66u + c];
        a = a + st[hh * 16u + 3u] * vt[99u + c];
        a = a + st[hh * 16u + 4u] * vt[132u + c];
        a = a + st[hh * 16u + 5u] * vt[165u + c];
        a = a + st[hh * 16u + 6u] * vt[198u + c];
        a = a + st[hh * 16u + 7u] * vt[231u + c];
        a = a + st[hh * 16u + 8u] * vt[264u + c];
        a = a + st[hh * 16u + 9u] * vt[297u + c];
        a = a + st[hh * 16u + 10u] * vt[330u + c];
        a = a + st[hh * 16u + 11u] * vt[363u + c];
        a = a + st[hh * 16u + 12u] * vt[396u + c];
        a = a + st[hh * 16u + 13u] * vt[429u + c];
        a = a + st[hh * 16u + 14u] * vt[462u + c];
        a = a + st[hh * 16u + 15u] * vt[495u + c];
        acc[0] = a;
      }
    }
  }

  // Every head's sum to every thread of its outputs.
  workgroupBarrier();
  if (lt < 2u) {
    mw[lt] = l;
  }
  workgroupBarrier();
  {
    let idx = lt + 0u * 128u;
    if (idx < 64u) {
      out[h0 * 32u + idx] = acc[0] / mw[idx / 32u];
    }
  }
}
