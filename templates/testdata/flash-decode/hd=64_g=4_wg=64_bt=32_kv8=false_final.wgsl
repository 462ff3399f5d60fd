// tune kernel flash-decode hd=64/g=4/wg=64/bt=32/kv8=false/final
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

@group(0) @binding(2) var<storage, read> kcache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vcache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> qs: array<vec4<f32>, 64>;
var<workgroup> kt: array<vec4<f32>, 544>;
var<workgroup> st: array<f32, 128>;
var<workgroup> mw: array<f32, 4>;
var<workgroup> cw: array<f32, 4>;

const NEG: f32 = -3.4e+38; // a masked score, below any real one

// Elements 4c..4c+3 of key/value head g at position p.
fn key(p: u32, g: u32, c: u32) -> vec4<f32> {
  return kcache[(p * dims.kv_heads + g) * 16u + c];
}

fn value(p: u32, g: u32, c: u32) -> vec4<f32> {
  return vcache[(p * dims.kv_heads + g) * 16u + c];
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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lt = lid.x;
  let split = wid.x;
  let g = wid.y;
  let h0 = g * 4u;
  let pos = dims.q_pos;
  let start = first_key(pos) + split * dims.split;
  let end = min(start + dims.split, pos + 1u);
  let scale = sqrt(64.0);

  let temp = temperature(pos);
  for (var i = lt; i < 64u; i = i + 64u) {
    qs[i] = q[h0 * 16u + i] * temp;
  }
  var m = NEG;
  var l = 0.0;
  var acc: array<vec4<f32>, 1>;
  acc[0] = vec4<f32>(0.0);

  for (var t0 = start; t0 < end; t0 = t0 + 32u) {
    let n = min(32u, end - t0);
    workgroupBarrier();
    for (var i = lt; i < 512u; i = i + 64u) {
      let r = i / 16u;
      let c = i % 16u;
      var v = vec4<f32>(0.0);
      if (r < n) {
        v = key(t0 + r, g, c);
      }
      kt[r * 17u + c] = v;
    }
    workgroupBarrier();
    for (var i = lt; i < 128u; i = i + 64u) {
      let hh = i / 32u;
      let j = i % 32u;
      var sc = NEG;
      if (j < n) {
        // Four partial sums shorten the chain of dependent adds.
        var d = vec4<f32>(0.0);
        for (var c = 0u; c < 16u; c = c + 1u) {
          d = d + qs[hh * 16u + c] * kt[j * 17u + c];
        }
        sc = (d.x + d.y + d.z + d.w) / scale;
      }
      st[i] = sc;
    }
    workgroupBarrier();
    if (lt < 4u) {
      // Scores past n are NEG: the whole tile, unrolled, needs no bound.
      var mx = m;
      mx = max(mx, st[lt * 32u + 0u]);
      mx = max(mx, st[lt * 32u + 1u]);
      mx = max(mx, st[lt * 32u + 2u]);
      mx = max(mx, st[lt * 32u + 3u]);
      mx = max(mx, st[lt * 32u + 4u]);
      mx = max(mx, st[lt * 32u + 5u]);
      mx = max(mx, st[lt * 32u + 6u]);
      mx = max(mx, st[lt * 32u + 7u]);
      mx = max(mx, st[lt * 32u + 8u]);
      mx = max(mx, st[lt * 32u + 9u]);
      mx = max(mx, st[lt * 32u + 10u]);
      mx = max(mx, st[lt * 32u + 11u]);
      mx = max(mx, st[lt * 32u + 12u]);
      mx = max(mx, st[lt * 32u + 13u]);
      mx = max(mx, st[lt * 32u + 14u]);
      mx = max(mx, st[lt * 32u + 15u]);
      mx = max(mx, st[lt * 32u + 16u]);
      mx = max(mx, st[lt * 32u + 17u]);
      mx = max(mx, st[lt * 32u + 18u]);
      mx = max(mx, st[lt * 32u + 19u]);
      mx = max(mx, st[lt * 32u + 20u]);
      mx = max(mx, st[lt * 32u + 21u]);
      mx = max(mx, st[lt * 32u + 22u]);
      mx = max(mx, st[lt * 32u + 23u]);
      mx = max(mx, st[lt * 32u + 24u]);
      mx = max(mx, st[lt * 32u + 25u]);
      mx = max(mx, st[lt * 32u + 26u]);
      mx = max(mx, st[lt * 32u + 27u]);
      mx = max(mx, st[lt * 32u + 28u]);
      mx = max(mx, st[lt * 32u + 29u]);
      mx = max(mx, st[lt * 32u + 30u]);
      mx = max(mx, st[lt * 32u + 31u]);
      cw[lt] = exp(m - mx);
      mw[lt] = mx;
      m = mx;
    }
    workgroupBarrier();
    for (var i = lt; i < 128u; i = i + 64u) {
      var e = 0.0;
      if (i % 32u < n) {
        e = exp(st[i] - mw[i / 32u]);
      }
      st[i] = e;
    }
    workgroupBarrier();
    if (lt < 4u) {
      // Weights past n are 0; four partial sums shorten the chain.
      var sum = vec4<f32>(0.0);
      sum[0] = sum[0] + st[lt * 32u + 0u];
      sum[1] = sum[1] + st[lt * 32u + 1u];
      sum[2] = sum[2] + st[lt * 32u + 2u];
      sum[3] = sum[3] + st[lt * 32u + 3u];
      sum[0] = sum[0] + st[lt * 32u + 4u];
      sum[1] = sum[1] + st[lt * 32u + 5u];
      sum[2] = sum[2] + st[lt * 32u + 6u];
      sum[3] = sum[3] + st[lt * 32u + 7u];
      sum[0] = sum[0] + st[lt * 32u + 8u];
      sum[1] = sum[1] + st[lt * 32u + 9u];
      sum[2] = sum[2] + st[lt * 32u + 10u];
      sum[3] = sum[3] + st[lt * 32u + 11u];
      sum[0] = sum[0] + st[lt * 32u + 12u];
      sum[1] = sum[1] + st[lt * 32u + 13u];
      sum[2] = sum[2] + st[lt * 32u + 14u];
      sum[3] = sum[3] + st[lt * 32u + 15u];
      sum[0] = sum[0] + st[lt * 32u + 16u];
      sum[1] = sum[1] + st[lt * 32u + 17u];
      sum[2] = sum[2] + st[lt * 32u + 18u];
      sum[3] = sum[3] + st[lt * 32u + 19u];
      sum[0] = sum[0] + st[lt * 32u + 20u];
      sum[1] = sum[1] + st[lt * 32u + 21u];
      sum[2] = sum[2] + st[lt * 32u + 22u];
      sum[3] = sum[3] + st[lt * 32u + 23u];
      sum[0] = sum[0] + st[lt * 32u + 24u];
      sum[1] = sum[1] + st[lt * 32u + 25u];
      sum[2] = sum[2] + st[lt * 32u + 26u];
      sum[3] = sum[3] + st[lt * 32u + 27u];
      sum[0] = sum[0] + st[lt * 32u + 28u];
      sum[1] = sum[1] + st[lt * 32u + 29u];
      sum[2] = sum[2] + st[lt * 32u + 30u];
      sum[3] = sum[3] + st[lt * 32u + 31u];
      l = l * cw[lt] + ((sum.x + sum.y) + (sum.z + sum.w));
    }
    {
      let idx = lt + 0u * 64u;
      if (idx < 64u) {
        let hh = idx / 16u;
        let c = idx % 16u;
        var a = acc[0] * cw[hh];
        for (var j = 0u; j < n; j = j + 1u) {
          a = a + st[hh * 32u + j] * value(t0 + j, g, c);
        }
        acc[0] = a;
      }
    }
  }

  // Every head's sum to every thread of its outputs.
  workgroupBarrier();
  if (lt < 4u) {
    mw[lt] = l;
  }
  workgroupBarrier();
  {
    let idx = lt + 0u * 64u;
    if (idx < 64u) {
      out[h0 * 16u + idx] = acc[0] / mw[idx / 16u];
    }
  }
}
