// tune kernel topp wg=32/chunk=128
struct Params {
  n: u32,
  topp: u32,
  cutoff: u32,
  coin: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> nucleus: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> group_sum: array<u32, 16>;
var<workgroup> chunk_p: array<u32, 128>;
var<workgroup> chunk_i: array<u32, 128>;
var<workgroup> taken: atomic<u32>;
var<workgroup> first: atomic<u32>;
// 0 while selecting, 1 once the nucleus is complete, 2 to sample all of probs.
var<workgroup> status: u32;
var<workgroup> sel_done: u32;
// The key digits the radix select has fixed, and which bits they are.
var<workgroup> pre_p: u32;
var<workgroup> pre_i: u32;
var<workgroup> mask_p: u32;
var<workgroup> mask_i: u32;
// The chunk is every key left that is >= this threshold.
var<workgroup> thr_p: u32;
var<workgroup> thr_i: u32;
var<workgroup> chunk_n: u32;
// The last key taken: only keys after it are left.
var<workgroup> bound_p: u32;
var<workgroup> bound_i: u32;
var<workgroup> taken_n: u32;
var<workgroup> cum: f32;

// left reports whether the candidate with probability bits pb and index i
// comes after the last key taken.
fn left(pb: u32, i: u32) -> bool {
  return pb < bound_p || (pb == bound_p && i > bound_i);
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  let n = params.n;
  let topp = bitcast<f32>(params.topp);
  let cutoff = bitcast<f32>(params.cutoff);
  var need = 0u;
  if (t == 0u) {
    status = select(2u, 0u, topp > 0.0 && topp < 1.0);
    bound_p = 0xffffffffu;
    bound_i = 0u;
    taken_n = 0u;
    cum = 0.0;
  }
  loop {
    if (workgroupUniformLoad(&status) != 0u) {
      break;
    }
    if (t == 0u) {
      sel_done = 0u;
      need = 128u;
      pre_p = 0u;
      pre_i = 0u;
      mask_p = 0u;
      mask_i = 0u;
    }
    for (var r = 0u; r < 8u; r = r + 1u) {
      if (workgroupUniformLoad(&sel_done) != 0u) {
        break;
      }
      for (var b = t; b < 256u; b = b + 32u) {
        atomicStore(&hist[b], 0u);
      }
      workgroupBarrier();
      // Rounds 0-3 take the probability's bytes, 4-7 the complemented index's.
      let shift = 24u - 8u * (r & 3u);
      for (var i = t; i < n; i = i + 32u) {
        let p = probs[i];
        let pb = bitcast<u32>(p);
        let ki = ~i;
        if (p >= cutoff && left(pb, i) && (pb & mask_p) == pre_p && (ki & mask_i) == pre_i) {
          atomicAdd(&hist[(select(ki, pb, r < 4u) >> shift) & 0xffu], 1u);
        }
      }
      workgroupBarrier();
      if (t < 16u) {
        var s = 0u;
        for (var j = 0u; j < 16u; j = j + 1u) {
          s = s + atomicLoad(&hist[t * 16u + j]);
        }
        group_sum[t] = s;
      }
      workgroupBarrier();
      if (t == 0u) {
        // Walk the bins from the top to the one where need keys are reached.
        var acc = 0u;
        var g = 16u;
        for (var j = 0u; j < 16u; j = j + 1u) {
          if (acc + group_sum[15u - j] >= need) {
            g = 15u - j;
            break;
          }
          acc = acc + group_sum[15u - j];
        }
        if (g == 16u) {
          // Fewer keys left than a chunk (round 0 only): take them all.
          thr_p = 0u;
          thr_i = 0u;
          chunk_n = acc;
          sel_done = 1u;
        } else {
          var d = 0u;
          var c = 0u;
          for (var j = 0u; j < 16u; j = j + 1u) {
            d = g * 16u + 15u - j;
            c = atomicLoad(&hist[d]);
            if (acc + c >= need) {
              break;
            }
            acc = acc + c;
          }
          if (r < 4u) {
            pre_p = pre_p | (d << shift);
            mask_p = mask_p | (0xffu << shift);
          } else {
            pre_i = pre_i | (d << shift);
            mask_i = mask_i | (0xffu << shift);
          }
          need = need - acc;
          if (c == need) {
            // The whole bin completes the chunk: its prefix is the threshold.
            thr_p = pre_p;
            thr_i = pre_i;
            chunk_n = 128u;
            sel_done = 1u;
          }
        }
      }
    }
    if (t == 0u) {
      atomicStore(&taken, 0u);
    }
    workgroupBarrier();
    for (var i = t; i < n; i = i + 32u) {
      let p = probs[i];
      let pb = bitcast<u32>(p);
      if (p >= cutoff && left(pb, i) && (pb > thr_p || (pb == thr_p && ~i >= thr_i))) {
        let s = atomicAdd(&taken, 1u);
        chunk_p[s] = pb;
        chunk_i[s] = i;
      }
    }
    workgroupBarrier();
    let m = chunk_n;
    // Padding sorts after every candidate: probability 0, the largest index.
    for (var s = m + t; s < 128u; s = s + 32u) {
      chunk_p[s] = 0u;
      chunk_i[s] = 0xffffffffu;
    }
    workgroupBarrier();
    for (var k = 2u; k <= 128u; k = k << 1u) {
      for (var j = k >> 1u; j > 0u; j = j >> 1u) {
        for (var q = t; q < 64u; q = q + 32u) {
          let a = ((q & ~(j - 1u)) << 1u) | (q & (j - 1u));
          let b = a + j;
          let pa = chunk_p[a];
          let ia = chunk_i[a];
          let pb = chunk_p[b];
          let ib = chunk_i[b];
          // Blocks with bit k of a clear end in descending order.
          let b_first = pb > pa || (pb == pa && ib < ia);
          if (b_first == ((a & k) == 0u)) {
            chunk_p[a] = pb;
            chunk_i[a] = ib;
            chunk_p[b] = pa;
            chunk_i[b] = ia;
          }
        }
        workgroupBarrier();
      }
    }
    if (t == 0u) {
      // run.c's cumulative sum, in the same order and precision.
      var c = cum;
      let base = taken_n;
      var s = 0u;
      var ended = false;
      for (; s < m; s = s + 1u) {
        c = c + bitcast<f32>(chunk_p[s]);
        nucleus[2u * (base + s)] = bitcast<u32>(c);
        nucleus[2u * (base + s) + 1u] = chunk_i[s];
        if (c > topp) {
          ended = true;
          break;
        }
      }
      cum = c;
      if (ended) {
        taken_n = base + s + 1u;
        status = 1u;
      } else {
        taken_n = base + m;
        if (m < 128u) {
          // Every candidate is taken; none at all means sampling all of probs.
          status = select(1u, 2u, taken_n == 0u);
        } else {
          bound_p = chunk_p[m - 1u];
          bound_i = chunk_i[m - 1u];
        }
      }
    }
  }
  if (workgroupUniformLoad(&status) == 1u) {
    if (t == 0u) {
      atomicStore(&first, 0xffffffffu);
    }
    storageBarrier();
    workgroupBarrier();
    let r = bitcast<f32>(params.coin) * cum;
    let count = taken_n;
    for (var s = t; s < count; s = s + 32u) {
      if (r < bitcast<f32>(nucleus[2u * s])) {
        atomicMin(&first, s);
      }
    }
    workgroupBarrier();
    if (t == 0u) {
      var f = atomicLoad(&first);
      if (f == 0xffffffffu) {
        f = count - 1u;
      }
      out[0] = nucleus[2u * f + 1u];
    }
  } else if (t == 0u) {
    // run.c's sample_mult.
    let coin = bitcast<f32>(params.coin);
    var cdf = 0.0;
    var chosen = n - 1u;
    for (var i = 0u; i < n; i = i + 1u) {
      cdf = cdf + probs[i];
      if (coin < cdf) {
        chosen = i;
        break;
      }
    }
    out[0] = chosen;
  }
}
