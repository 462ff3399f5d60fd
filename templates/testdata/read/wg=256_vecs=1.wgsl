// tune kernel read wg=256/vecs=1
@group(0) @binding(0) var<uniform> ctl: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let g = wid.y * groups.x + wid.x;
  let first = g * 256u + lid.x;
  let n = arrayLength(&src);
  var acc0 = vec4<f32>(0.0);
  for (var t = 0u; t < 1u; t = t + 1u) {
    let at = first + t * 256u;
    if (at + 0u < n) {
      acc0 = acc0 + src[at + 0u];
    }
  }
  let acc = acc0;
  if (ctl.y != 0u || dot(acc, vec4<f32>(1.0)) == bitcast<f32>(ctl.x)) {
    let o = g * 256u + lid.x;
    if (o < arrayLength(&sums)) {
      sums[o] = acc;
    }
  }
}
