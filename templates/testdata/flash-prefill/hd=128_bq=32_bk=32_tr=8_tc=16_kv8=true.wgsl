// tune kernel flash-prefill hd=128/bq=32/bk=32/tr=8/tc=16/kv8=true
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

var<workgroup> qt: array<vec4<f32>, 1056>;
var<workgroup> kvt: array<vec4<f32>, 1056>;
var<workgroup> st: array<f32, 1024>;

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
  let tr = lt / 16u;
  let tc = lt % 16u;
  let h = wid.y;
  let g = h / (dims.heads / dims.kv_heads);
  let q0 = wid.x * 32u;
  let qrow = dims.heads * 32u;
  let scale = sqrt(128.0);

  // Queries, scaled by their position's temperature.
  for (var i = lt; i < 1024u; i = i + 128u) {
    let r = i / 32u;
    let c = i % 32u;
    var v = vec4<f32>(0.0);
    if (q0 + r < dims.q_len) {
      v = q[(q0 + r) * qrow + h * 32u + c] * temperature(dims.q_pos + q0 + r);
    }
    qt[r * 33u + c] = v;
  }

  let first = dims.q_pos + q0;
  let last = dims.q_pos + min(q0 + 32u, dims.q_len) - 1u;
  var m: array<f32, 4>;
  var l: array<f32, 4>;
  var corr: array<f32, 4>;
  var o: array<vec4<f32>, 8>;
  m[0] = NEG;
  l[0] = 0.0;
  m[1] = NEG;
  l[1] = 0.0;
  m[2] = NEG;
  l[2] = 0.0;
  m[3] = NEG;
  l[3] = 0.0;
  o[0] = vec4<f32>(0.0);
  o[1] = vec4<f32>(0.0);
  o[2] = vec4<f32>(0.0);
  o[3] = vec4<f32>(0.0);
  o[4] = vec4<f32>(0.0);
  o[5] = vec4<f32>(0.0);
  o[6] = vec4<f32>(0.0);
  o[7] = vec4<f32>(0.0);

  for (var k0 = first_key(first); k0 <= last; k0 = k0 + 32u) {
    workgroupBarrier();
    for (var i = lt; i < 1024u; i = i + 128u) {
      let r = i / 32u;
      let c = i % 32u;
      var v = vec4<f32>(0.0);
      if (k0 + r <= last) {
        v = key(k0 + r, g, c);
      }
      kvt[r * 33u + c] = v;
    }
    workgroupBarrier();

    var s: array<f32, 8>;
    s[0] = 0.0;
    s[1] = 0.0;
    s[2] = 0.0;
    s[3] = 0.0;
    s[4] = 0.0;
    s[5] = 0.0;
    s[6] = 0.0;
    s[7] = 0.0;
    for (var c = 0u; c < 32u; c = c + 1u) {
      let k0 = kvt[(tc + 0u * 16u) * 33u + c];
      let k1 = kvt[(tc + 1u * 16u) * 33u + c];
      let q0 = qt[(tr + 0u * 8u) * 33u + c];
      s[0] = s[0] + dot(q0, k0);
      s[1] = s[1] + dot(q0, k1);
      let q1 = qt[(tr + 1u * 8u) * 33u + c];
      s[2] = s[2] + dot(q1, k0);
      s[3] = s[3] + dot(q1, k1);
      let q2 = qt[(tr + 2u * 8u) * 33u + c];
      s[4] = s[4] + dot(q2, k0);
      s[5] = s[5] + dot(q2, k1);
      let q3 = qt[(tr + 3u * 8u) * 33u + c];
      s[6] = s[6] + dot(q3, k0);
      s[7] = s[7] + dot(q3, k1);
    }
    {
      let qp = first + tr + 0u * 8u;
      let kp = k0 + tc + 0u * 16u;
      var v = s[0] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 0u * 8u) * 32u + tc + 0u * 16u] = v;
    }
    {
      let qp = first + tr + 0u * 8u;
      let kp = k0 + tc + 1u * 16u;
      var v = s[1] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 0u * 8u) * 32u + tc + 1u * 16u] = v;
    }
    {
      let qp = first + tr + 1u * 8u;
      let kp = k0 + tc + 0u * 16u;
      var v = s[2] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 1u * 8u) * 32u + tc + 0u * 16u] = v;
    }
    {
      let qp = first + tr + 1u * 8u;
      let kp = k0 + tc + 1u * 16u;
      var v = s[3] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 1u * 8u) * 32u + tc + 1u * 16u] = v;
    }
    {
      let qp = first + tr + 2u * 8u;
      let kp = k0 + tc + 0u * 16u;
      var v = s[4] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 2u * 8u) * 32u + tc + 0u * 16u] = v;
    }
    {
      let qp = first + tr + 2u * 8u;
      let kp = k0 + tc + 1u * 16u;
      var v = s[5] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 2u * 8u) * 32u + tc + 1u * 16u] = v;
    }
    {
      let qp = first + tr + 3u * 8u;
      let kp = k0 + tc + 0u * 16u;
      var v = s[6] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 3u * 8u) * 32u + tc + 0u * 16u] = v;
    }
    {
      let qp = first + tr + 3u * 8u;
      let kp = k0 + tc + 1u * 16u;
      var v = s[7] / scale;
      if (kp > qp || kp < first_key(qp)) {
        v = NEG;
      }
      st[(tr + 3u * 8u) * 32u + tc + 1u * 16u] = v;
    }
    workgroupBarrier();

    // The keys are done with: values take their place. Each row's maximum.
    for (var i = lt; i < 1024u; i = i + 128u) {
      let r = i / 32u;
      let c = i % 32u;
      var v = vec4<f32>(0.0);
      if (k0 + r <= last) {
        v = value(k0 + r, g, c);
      }
      kvt[r * 33u + c] = v;
    }
    {
      let r = tr + 0u * 8u;
      var mx = m[0];
      for (var j = 0u; j < 32u; j = j + 1u) {
        mx = max(mx, st[r * 32u + j]);
      }
      corr[0] = exp(m[0] - mx);
      m[0] = mx;
    }
    {
      let r = tr + 1u * 8u;
      var mx = m[1];
      for (var j = 0u; j < 32u; j = j + 1u) {
        mx = max(mx, st[r * 32u + j]);
      }
      corr[1] = exp(m[1] - mx);
      m[1] = mx;
    }
    {
      let r = tr + 2u * 8u;
      var mx = m[2];
      for (var j = 0u; j < 32u; j = j + 1u) {
        mx = max(mx, st[r * 32u + j]);
      }
      corr[2] = exp(m[2] - mx);
      m[2] = mx;
    }
    {
      let r = tr + 3u * 8u;
      var mx = m[3];
      for (var j = 0u; j < 32u; j = j + 1u) {
        mx = max(mx, st[r * 32u + j]);
      }
      corr[3] = exp(m[3] - mx);
      m[3] = mx;
    }
    workgroupBarrier();
    {
      let at = (tr + 0u * 8u) * 32u + tc + 0u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[0]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 0u * 8u) * 32u + tc + 1u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[0]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 1u * 8u) * 32u + tc + 0u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[1]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 1u * 8u) * 32u + tc + 1u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[1]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 2u * 8u) * 32u + tc + 0u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[2]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 2u * 8u) * 32u + tc + 1u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[2]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 3u * 8u) * 32u + tc + 0u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[3]);
      }
      st[at] = e;
    }
    {
      let at = (tr + 3u * 8u) * 32u + tc + 1u * 16u;
      let sv = st[at];
      var e = 0.0;
      if (sv != NEG) {
        e = exp(sv - m[3]);
      }
      st[at] = e;
    }
    workgroupBarrier();
    l[0] = l[0] * corr[0];
    o[0] = o[0] * corr[0];
    o[1] = o[1] * corr[0];
    l[1] = l[1] * corr[1];
    o[2] = o[2] * corr[1];
    o[3] = o[3] * corr[1];
    l[2] = l[2] * corr[2];
    o[4] = o[4] * corr[2];
    o[5] = o[5] * corr[2];
    l[3] = l[3] * corr[3];
    o[6] = o[6] * corr[3];
    o[7] = o[7] * corr[3];
    for (var j = 0u; j < 32u; j = j + 1u) {
      let v0 = kvt[j * 33u + tc + 0u * 16u];
      let v1 = kvt[j * 33u + tc + 1u * 16u];
      {
        let p = st[(tr + 0u * 8u) * 32u + j];
        l[0] = l[0] + p;
        o[0] = o[0] + p * v0;
        o[1] = o[1] + p * v1;
      }
      {
        let p = st[(tr + 1u * 8u) * 32u + j];
        l[1] = l[1] + p;
        o[2] = o[2] + p * v0;
        o[3] = o[3] + p * v1;
      }
      {
        let p = st[(tr + 2u * 8u) * 32u + j];
        l[2] = l[2] + p;
        o[4] = o[4] + p * v0;
        o[5] = o[5] + p * v1;
      }
      {
        let p = st[(tr + 3u * 8u) * 32u + j];
        l[3] = l[3] + p;
        o[6] = o[6] + p * v0;
        o[7] = o[7] + p * v1;
      }
    }
  }
  {
    let qi = q0 + tr + 0u * 8u;
    if (qi < dims.q_len) {
      out[qi * qrow + h * 32u + tc + 0u * 16u] = o[0] / l[0];
      out[qi * qrow + h * 32u + tc + 1u * 16u] = o[1] / l[0];
    }
  }
  {
    let qi = q0 + tr + 1u * 8u;
    if (qi < dims.q_len) {
      out[qi * qrow + h * 32u + tc + 0u * 16u] = o[2] / l[1];
      out[qi * qrow + h * 32u + tc + 1u * 16u] = o[3] / l[1];
    }
  }
  {
    let qi = q0 + tr + 2u * 8u;
    if (qi < dims.q_len) {
      out[qi * qrow + h * 32u + tc + 0u * 16u] = o[4] / l[2];
      out[qi * qrow + h * 32u + tc + 1u * 16u] = o[5] / l[2];
    }
  }
  {
    let qi = q0 + tr + 3u * 8u;
    if (qi < dims.q_len) {
      out[qi * qrow + h * 32u + tc + 0u * 16u] = o[6] / l[3];
      out[qi * qrow + h * 32u + tc + 1u * 16u] = o[7] / l[3];
    }
  }
}
