// app.js runs the kernels of a tune export (export/manifest.json, written
// by `tune export`) on this browser's WebGPU: it checks each kernel's
// output against the CPU reference values in the manifest, times the
// kernels that pass, and compares the rates with the profile's native
// ones. Results go to the table, to window.tuneResults (JSON-friendly) and,
// in short, to document.title.

const query = new URLSearchParams(location.search);
const SAMPLES = clamp(parseInt(query.get('samples') ?? '5', 10), 1, 100, 5);
const TARGET_S = clamp(parseFloat(query.get('target_ms') ?? '20'), 1, 10000, 20) / 1000;
const MAX_REPEATS = 1000;
// SCHEMA is the manifest schema this page reads (web.SchemaVersion).
const SCHEMA = 2;
// clock=wall times by wall clock even where timestamps are offered.
const WALL_ONLY = query.get('clock') === 'wall';

function clamp(v, lo, hi, dflt) {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt;
}

const results = {
  done: false, // set last, after everything else
  ok: false, // every kernel verified (none failed, none skipped)
  error: '',
  schema: 0,
  profile: '',
  native_adapter: null,
  adapter: null,
  clock: '',
  samples: SAMPLES,
  target_s: TARGET_S,
  kernels: [],
};
window.tuneResults = results;

const $ = (id) => document.getElementById(id);

function status(text, failed = false) {
  $('status').textContent = text;
  $('status').classList.toggle('failed', failed);
}

function describe(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

// formatRate writes a rate with an SI prefix, as tune's reports do.
function formatRate(v, unit) {
  if (!Number.isFinite(v) || v <= 0) return '–';
  const prefixes = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, p] of prefixes) {
    if (v >= scale) return `${(v / scale).toPrecision(3)} ${p}${unit}`;
  }
  return `${v.toPrecision(3)} ${unit}`;
}

function formatSeconds(s) {
  if (s >= 1) return `${s.toPrecision(3)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${(s * 1e6).toPrecision(3)} µs`;
}

async function fetchOK(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`fetching ${path}: ${r.status} ${r.statusText}`);
  return r;
}

// The compute limits a kernel may need, requested at the adapter's maxima.
const computeLimits = [
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize',
];

// overLimits says which of the device's limits a kernel exceeds, or ''.
function overLimits(k, lim) {
  const r = k.requires;
  const [x, y, z] = r.workgroup_size;
  const why = [];
  if (r.invocations > lim.maxComputeInvocationsPerWorkgroup) why.push(`${r.invocations} invocations per workgroup (limit ${lim.maxComputeInvocationsPerWorkgroup})`);
  if (x > lim.maxComputeWorkgroupSizeX || y > lim.maxComputeWorkgroupSizeY || z > lim.maxComputeWorkgroupSizeZ) {
    why.push(`workgroup ${x}x${y}x${z} (limit ${lim.maxComputeWorkgroupSizeX}x${lim.maxComputeWorkgroupSizeY}x${lim.maxComputeWorkgroupSizeZ})`);
  }
  if (r.workgroup_bytes > lim.maxComputeWorkgroupStorageSize) why.push(`${r.workgroup_bytes} B of workgroup memory (limit ${lim.maxComputeWorkgroupStorageSize})`);
  if (r.storage_buffers > lim.maxStorageBuffersPerShaderStage) why.push(`${r.storage_buffers} storage buffers (limit ${lim.maxStorageBuffersPerShaderStage})`);
  const maxBinding = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
  if (r.max_binding_bytes > maxBinding) why.push(`a ${r.max_binding_bytes} B binding (limit ${maxBinding})`);
  if (r.max_groups > lim.maxComputeWorkgroupsPerDimension) why.push(`${r.max_groups} workgroups in a dimension (limit ${lim.maxComputeWorkgroupsPerDimension})`);
  return why.join(', ');
}

// scoped runs fn inside validation, out-of-memory and internal error
// scopes and throws the first error any of them caught.
async function scoped(device, fn) {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('internal');
  let value;
  let thrown;
  try {
    value = await fn();
  } catch (e) {
    thrown = e;
  }
  const errs = [];
  for (let i = 0; i < 3; i++) {
    const e = await device.popErrorScope();
    if (e) errs.push(e.message);
  }
  if (thrown) throw thrown;
  if (errs.length) throw new Error(errs.join('\n'));
  return value;
}

// verify checks a buffer's words after one run against a check of the
// manifest: the guard band intact, then either (sampled) every element
// written and finite and the sampled elements within tolerance of the CPU
// reference, or (whole) every word equal to the expected one or, where its
// tolerance is above 0, finite and within it. expect and tol are the whole
// check's files. It returns the failure ('' if none), the largest absolute
// error and the largest error / tolerance.
function verify(check, name, words, expect, tol) {
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  const out = { failure: '', maxError: 0, worstRatio: 0 };
  for (let j = 0; j < check.guard; j++) {
    if (words[check.elements + j] !== check.fill) {
      out.failure = `wrote out of bounds, ${j} words past the end of ${name}`;
      return out;
    }
  }
  if (check.expect) {
    const wantF = new Float32Array(expect.buffer, expect.byteOffset, expect.length);
    for (let i = 0; i < check.elements; i++) {
      if (words[i] === expect[i]) continue;
      if (words[i] === check.fill) {
        out.failure = `${name}[${i}] never written`;
        return out;
      }
      if (!(tol[i] > 0)) {
        out.failure = `${name}[${i}] = 0x${words[i].toString(16)} (u32 ${words[i]}, f32 ${f[i]}), want 0x${expect[i].toString(16)} (u32 ${expect[i]}, f32 ${wantF[i]}) exactly`;
        return out;
      }
      if (!Number.isFinite(f[i])) {
        out.failure = `${name}[${i}] = ${f[i]}`;
        return out;
      }
      const err = Math.abs(f[i] - wantF[i]);
      out.maxError = Math.max(out.maxError, err);
      out.worstRatio = Math.max(out.worstRatio, err / tol[i]);
      if (!(err <= tol[i])) {
        out.failure = `${name}[${i}] = ${f[i]}, want ${wantF[i]} within ${tol[i].toPrecision(3)}`;
        return out;
      }
    }
    return out;
  }
  for (let i = 0; i < check.elements; i++) {
    if (words[i] === check.fill) {
      out.failure = `${name}[${i}] never written`;
      return out;
    }
    if (!Number.isFinite(f[i])) {
      out.failure = `${name}[${i}] = ${f[i]}`;
      return out;
    }
  }
  for (let n = 0; n < check.index.length; n++) {
    const i = check.index[n];
    const err = Math.abs(f[i] - check.want[n]);
    const ratio = err / check.tol[n];
    out.maxError = Math.max(out.maxError, err);
    out.worstRatio = Math.max(out.worstRatio, ratio);
    if (!(err <= check.tol[n]) && !out.failure) {
      out.failure = `${name}[${i}] = ${f[i]}, want ${check.want[n]} within ${check.tol[n].toPrecision(3)}`;
    }
  }
  return out;
}

// checked counts the elements a check compares with a reference.
function checkedElements(c) {
  return c.expect ? c.elements : c.index.length;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function fetchWords(file, words) {
  const buf = await (await fetchOK(`export/${file}`)).arrayBuffer();
  if (buf.byteLength !== 4 * words) throw new Error(`${file}: ${buf.byteLength} bytes, want ${4 * words}`);
  return new Uint32Array(buf);
}

// runKernel compiles a kernel's dispatches, runs them once in order on the
// inputs and checks the outputs, and times the sequence, filling in r.
async function runKernel(device, k, r, timestamps) {
  const why = overLimits(k, device.limits);
  if (why) {
    r.skipped = `over this device's limits: ${why}`;
    return;
  }
  const [sources, inputs, expected] = await Promise.all([
    Promise.all(k.dispatches.map((d) => fetchOK(`export/${d.wgsl}`).then((x) => x.text()))),
    Promise.all(k.buffers.map((b) => (b.file ? fetchWords(b.file, b.words) : null))),
    Promise.all(k.checks.map((c) => (c.expect
      ? Promise.all([fetchWords(c.expect, c.elements), fetchWords(c.tolerance, c.elements).then((w) => new Float32Array(w.buffer))])
      : [null, null]))),
  ]);
  const t0 = performance.now();
  const steps = [];
  for (const [i, d] of k.dispatches.entries()) {
    const label = `${k.name} ${d.kernel}`;
    const module = device.createShaderModule({ label, code: sources[i] });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
    if (errors.length) throw new Error(`shader ${d.kernel}: ${errors.join('\n')}`);
    const layout = device.createBindGroupLayout({
      label,
      entries: d.bindings.map((b) => ({ binding: b.index, visibility: GPUShaderStage.COMPUTE, buffer: { type: b.kind } })),
    });
    const pipeline = await scoped(device, () => device.createComputePipelineAsync({
      label,
      layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: d.entry_point },
    }));
    steps.push({ d, layout, pipeline, group: null });
  }
  r.compile_s = (performance.now() - t0) / 1000;

  const buffers = [];
  try {
    const gpu = await scoped(device, async () => {
      const out = [];
      for (const [i, b] of k.buffers.entries()) {
        const kinds = k.dispatches.flatMap((d) => d.bindings.filter((x) => x.buffer === i).map((x) => x.kind));
        const uniform = kinds.includes('uniform');
        const storage = kinds.some((x) => x !== 'uniform');
        const size = uniform ? Math.max(16, Math.ceil(4 * b.words / 16) * 16) : 4 * b.words;
        const usage = (uniform ? GPUBufferUsage.UNIFORM : 0) | (storage ? GPUBufferUsage.STORAGE : 0) | GPUBufferUsage.COPY_SRC;
        const buf = device.createBuffer({ label: `${k.name} ${b.name}`, size, usage, mappedAtCreation: true });
        buffers.push(buf);
        out.push(buf);
        const words = new Uint32Array(buf.getMappedRange());
        if (b.uniform) words.set(b.uniform);
        else if (b.file) words.set(inputs[i]);
        else if (b.fill !== undefined) words.fill(b.fill);
        buf.unmap();
      }
      for (const s of steps) {
        s.group = device.createBindGroup({
          label: `${k.name} ${s.d.kernel}`, layout: s.layout,
          entries: s.d.bindings.map((b) => ({ binding: b.index, resource: { buffer: out[b.buffer] } })),
        });
      }
      return out;
    });
    // encodeRuns records n runs of the dispatches, in order, in one pass.
    const encodeRuns = (pass, n) => {
      for (let i = 0; i < n; i++) {
        for (const s of steps) {
          pass.setPipeline(s.pipeline);
          pass.setBindGroup(0, s.group);
          pass.dispatchWorkgroups(...s.d.groups);
        }
      }
      pass.end();
    };

    // Check: one run on the inputs, the checked buffers read back.
    const readbacks = k.checks.map((c) => {
      const rb = device.createBuffer({ label: `${k.name} readback`, size: gpu[c.buffer].size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      buffers.push(rb);
      return rb;
    });
    const results = await scoped(device, async () => {
      const enc = device.createCommandEncoder();
      encodeRuns(enc.beginComputePass(), 1);
      for (const [n, c] of k.checks.entries()) enc.copyBufferToBuffer(gpu[c.buffer], 0, readbacks[n], 0, gpu[c.buffer].size);
      device.queue.submit([enc.finish()]);
      return Promise.all(readbacks.map(async (rb) => {
        await rb.mapAsync(GPUMapMode.READ);
        const w = new Uint32Array(rb.getMappedRange().slice(0));
        rb.unmap();
        return w;
      }));
    });
    r.checked = 0;
    for (const [n, c] of k.checks.entries()) {
      const v = verify(c, k.buffers[c.buffer].name, results[n], expected[n][0], expected[n][1]);
      r.checked += checkedElements(c);
      r.max_error = Math.max(r.max_error, v.maxError);
      r.worst_error_ratio = Math.max(r.worst_error_ratio, v.worstRatio);
      if (v.failure) {
        r.error = `wrong result: ${v.failure}`;
        return; // a wrong kernel is never timed
      }
    }
    r.verified = true;

    // Warm-up, which also sizes the samples.
    let t = performance.now();
    const warm = device.createCommandEncoder();
    encodeRuns(warm.beginComputePass(), 1);
    device.queue.submit([warm.finish()]);
    await device.queue.onSubmittedWorkDone();
    const once = Math.max((performance.now() - t) / 1000, 1e-6);
    const repeats = Math.max(1, Math.min(MAX_REPEATS, Math.ceil(TARGET_S / once)));

    let perRun = null;
    let clock = 'wall';
    if (timestamps) {
      perRun = await scoped(device, () => timeWithTimestamps(device, encodeRuns, repeats, buffers));
      if (perRun) clock = 'timestamp';
    }
    if (!perRun) {
      perRun = [];
      for (let s = 0; s < SAMPLES; s++) {
        const enc = device.createCommandEncoder();
        encodeRuns(enc.beginComputePass(), repeats);
        t = performance.now();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        perRun.push((performance.now() - t) / 1000 / repeats);
      }
    }
    const med = median(perRun);
    r.browser = { median_s: med, rate: k.work / med, unit: k.unit, clock, samples: perRun, repeats };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

// timeWithTimestamps times SAMPLES passes of repeats runs each by their
// pass timestamps and returns seconds per run, or null when a sample came
// back empty (a clock that did not advance).
async function timeWithTimestamps(device, encodeRuns, repeats, buffers) {
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * SAMPLES });
  const resolve = device.createBuffer({ size: 16 * SAMPLES, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16 * SAMPLES, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  buffers.push(resolve, read);
  try {
    const enc = device.createCommandEncoder();
    for (let s = 0; s < SAMPLES; s++) {
      encodeRuns(enc.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * s, endOfPassWriteIndex: 2 * s + 1 },
      }), repeats);
    }
    enc.resolveQuerySet(querySet, 0, 2 * SAMPLES, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * SAMPLES);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const ns = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    const out = [];
    for (let s = 0; s < SAMPLES; s++) {
      const d = Number(ns[2 * s + 1] - ns[2 * s]);
      if (!(d > 0)) return null;
      out.push(d / 1e9 / repeats);
    }
    return out;
  } finally {
    querySet.destroy();
  }
}

function cell(tr, text, cls = '', small = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  if (small) {
    const s = document.createElement('small');
    s.textContent = small;
    td.append(s);
  }
  tr.append(td);
  return td;
}

function render() {
  const body = document.querySelector('#results tbody');
  body.replaceChildren();
  for (const r of results.kernels) {
    const tr = document.createElement('tr');
    tr.dataset.kernel = r.name;
    cell(tr, `${r.op} ${r.dtype}`, '', `${r.kernel} ${r.id}`);
    cell(tr, r.shape.join('x'));
    cell(tr, formatRate(r.native.rate, r.native.unit), 'num', r.native.median_s > 0 ? formatSeconds(r.native.median_s) : 'not measured');
    if (r.browser) {
      cell(tr, formatRate(r.browser.rate, r.browser.unit), 'num', formatSeconds(r.browser.median_s));
      cell(tr, r.native.rate > 0 ? `${(r.browser.rate / r.native.rate).toPrecision(3)}x` : '–', 'num');
    } else {
      cell(tr, '–', 'num');
      cell(tr, '–', 'num');
    }
    if (r.skipped) cell(tr, 'skipped', 'skip', r.skipped);
    else if (r.verified) cell(tr, 'yes', 'yes', `${r.checked} checked`);
    else if (r.error) cell(tr, 'no', 'no', r.error);
    else cell(tr, r === results.current ? 'running…' : 'pending');
    if (r.checked) {
      cell(tr, r.max_error.toExponential(2), 'num', `${(100 * r.worst_error_ratio).toPrecision(2)}% of tolerance`);
    } else {
      cell(tr, '–', 'num');
    }
    if (r.browser) {
      cell(tr, r.browser.clock, '', `median of ${r.browser.samples.length} × ${r.browser.repeats} run${r.browser.repeats > 1 ? 's' : ''} of ${r.dispatches} dispatch${r.dispatches > 1 ? 'es' : ''}`);
    } else {
      cell(tr, '');
    }
    body.append(tr);
  }
}

async function main() {
  const manifest = await (await fetchOK('export/manifest.json')).json();
  if (manifest.schema !== SCHEMA) throw new Error(`export/manifest.json: schema ${manifest.schema}, this page reads ${SCHEMA}`);
  results.schema = manifest.schema;
  results.profile = manifest.profile;
  results.native_adapter = manifest.adapter;
  const a = manifest.adapter;
  describe($('native'), [
    ['profile', manifest.profile],
    ['adapter', a.name],
    ['driver', a.driver],
    ['backend', `${a.backend} (${a.type})`],
    ['tuned', manifest.created],
    ['kernels', `${manifest.kernels.length} exported, ${manifest.skipped.length} skipped at export`],
  ]);
  for (const k of manifest.kernels) {
    results.kernels.push({
      name: k.name, op: k.op, dtype: k.dtype, shape: k.shape, kernel: k.kernel, id: k.id, dispatches: k.dispatches.length,
      native: k.native, browser: null, verified: false, checked: 0, max_error: 0, worst_error_ratio: 0,
      compile_s: 0, skipped: '', error: '',
    });
  }
  render();
  const leftOut = $('skipped');
  for (const s of manifest.skipped) {
    const li = document.createElement('li');
    li.textContent = `${s.op} ${s.dtype} ${s.shape.join('x')}: ${s.reason}`;
    leftOut.append(li);
  }
  leftOut.hidden = manifest.skipped.length === 0;

  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is undefined)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('requestAdapter() returned no adapter: WebGPU is disabled or unavailable here');
  const timestamps = adapter.features.has('timestamp-query') && !WALL_ONLY;
  const requiredLimits = {};
  for (const k of computeLimits) {
    if (adapter.limits[k] !== undefined) requiredLimits[k] = adapter.limits[k];
  }
  const device = await adapter.requestDevice({
    requiredFeatures: timestamps ? ['timestamp-query'] : [],
    requiredLimits,
  });
  let lost = null;
  device.lost.then((l) => { lost = l; });
  const uncaptured = [];
  device.onuncapturederror = (ev) => uncaptured.push(ev.error?.message ?? String(ev.error));
  const info = adapter.info ?? {};
  results.adapter = {
    vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '',
    description: info.description ?? '',
    fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
    features: [...adapter.features].sort(),
    limits: Object.fromEntries(computeLimits.map((k) => [k, device.limits[k]])),
    user_agent: navigator.userAgent,
  };
  results.clock = timestamps ? 'timestamp' : 'wall';
  describe($('browser'), [
    ['adapter', [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || '(no details)'],
    ['fallback', results.adapter.fallback ? 'yes (software)' : 'no'],
    ['timing', timestamps ? 'GPU timestamps (timestamp-query)'
      : `wall time (${WALL_ONLY ? 'clock=wall' : 'no timestamp-query'})`],
    ['samples', `${SAMPLES} per kernel, each ≥ ${TARGET_S * 1000} ms of dispatches`],
    ['browser', navigator.userAgent.replace(/^Mozilla\/5\.0 /, '')],
  ]);

  for (const [i, k] of manifest.kernels.entries()) {
    const r = results.kernels[i];
    results.current = r;
    status(`Running ${i + 1} of ${manifest.kernels.length}: ${k.name}`);
    document.title = `tune: running ${i + 1}/${manifest.kernels.length}`;
    render();
    try {
      await runKernel(device, k, r, timestamps);
    } catch (e) {
      r.error = e?.message ?? String(e);
      r.verified = false;
      r.browser = null;
    }
    if (uncaptured.length) {
      r.error = [r.error, ...uncaptured.splice(0)].filter(Boolean).join('\n');
      r.verified = false;
      r.browser = null;
    }
    if (lost) {
      r.error = [r.error, `device lost (${lost.reason}): ${lost.message}`].filter(Boolean).join('\n');
      throw new Error(`device lost on ${k.name}: ${lost.message}`);
    }
  }
  delete results.current;
  device.destroy();
  const verified = results.kernels.filter((r) => r.verified).length;
  const skipped = results.kernels.filter((r) => r.skipped).length;
  results.ok = verified === results.kernels.length;
  render();
  status(`Done: ${verified} of ${results.kernels.length} kernels verified` + (skipped ? `, ${skipped} over this device's limits` : ''),
    verified + skipped !== results.kernels.length);
  document.title = `tune: done, ${verified}/${results.kernels.length} verified`;
}

main().catch((e) => {
  results.error = e?.message ?? String(e);
  delete results.current;
  render();
  status(`Failed: ${results.error}`, true);
  document.title = 'tune: failed';
}).finally(() => {
  results.done = true;
});
