// tune kernel read wg=256/vecs=64
@group(0) @binding(0) var<uniform> ctl: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let g = wid.y * groups.x + wid.x;
  let first = g * 16384u + lid.x;
  let n = arrayLength(&src);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var t = 0u; t < 16u; t = t + 1u) {
    let at = first + t * 1024u;
    if (at + 0u < n) {
      acc0 = acc0 + src[at + 0u];
    }
    if (at + 256u < n) {
      acc1 = acc1 + src[at + 256u];
    }
    if (at + 512u < n) {
      acc2 = acc2 + src[at + 512u];
    }
    if (at + 768u < n) {
      acc3 = acc3 + src[at + 768u];
    }
  }
  let acc = acc0 + acc1 + acc2 + acc3;
  if (ctl.y != 0u || dot(acc, vec4<f32>(1.0)) == bitcast<f32>(ctl.x)) {
    let o = g * 256u + lid.x;
    if (o < arrayLength(&sums)) {
      sums[o] = acc;
    }
  }
}
