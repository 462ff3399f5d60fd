// check.mjs compiles and runs WGSL compute kernels on Dawn (dawn.node from
// the npm package `webgpu`), so that Tint, the WGSL compiler of Chromium,
// checks what naga accepted. The Go package in this folder drives it; see
// doc.go for the protocol's place in the harness.
//
//   node check.mjs [--compile-only] [--probe] [FILE]
//
// Input (FILE, or standard input when FILE is absent or "-") is a JSON array
// of kernels:
//
//   {name, wgsl, workgroup: [x, y, z],
//    bindings: [{kind: "uniform"|"read"|"read_write", data: base64, size: bytes}],
//    dispatch: [x, y, z], outputs: [binding indices to read back]}
//
// Binding i is @group(0) @binding(i). A buffer holds max(size, len(data))
// bytes rounded up to 4 (16 for a uniform), data first and zeros after.
//
// Output is JSON Lines on standard output, each written as soon as it is
// known, so that a caller can tell how far a process got before it died:
//
//   {"adapter": {...}, "limits": {...}}                     first, always
//   {"index", "name", "ok", "stage", "error", "warnings", "outputs": [base64]}
//
// one result per kernel in input order. stage names the step that failed:
// "shader" (Tint's diagnostics from getCompilationInfo or a validation
// error of createShaderModule), "pipeline" (createComputePipeline with an
// explicit bind-group layout: entry point, bindings, workgroup limits,
// Tint's backend, the GL driver), "run" (buffers, dispatch, readback). The
// exit code is 0 when every kernel was handled, whatever its result; 2 for
// bad input; 3 when no adapter or device could be had; 4 when the device
// was lost, after which the caller restarts with the kernels left.
//
// The device is Dawn's OpenGL ES backend in compatibility mode, which works
// on Mesa's llvmpipe headless with EGL_PLATFORM=surfaceless (Dawn's Vulkan
// backend refuses Mesa 22.3's lavapipe), with every compute limit raised to
// the adapter's maximum.

import { readFileSync, writeSync } from 'node:fs';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);

const args = process.argv.slice(2);
const compileOnly = args.includes('--compile-only');
const probeOnly = args.includes('--probe');
const files = args.filter((a) => !a.startsWith('--'));

// emit writes one line to standard output synchronously, so that it is out
// before a crash, retrying partial writes and a full non-blocking pipe.
const pause = new Int32Array(new SharedArrayBuffer(4));
function emit(obj) {
  const buf = Buffer.from(JSON.stringify(obj) + '\n');
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function fail(code, msg) {
  writeSync(2, `check.mjs: ${msg}\n`);
  process.exit(code);
}

// The limits a compute kernel may need, raised from compatibility mode's
// defaults (128 invocations, 16 KiB of workgroup memory) to the adapter's.
const computeLimits = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxBufferSize',
  'maxBindingsPerBindGroup',
];

// The instance and adapter stay referenced for the life of the process:
// once the garbage collector frees the instance, Dawn's event processing
// for the device touches freed memory and the process dies (SIGSEGV in
// InstanceBase::ProcessEvents, or an abort from std::system_error), after
// a few kernels or a few hundred depending on when the collector runs.
const keep = {};

async function openDevice() {
  const gpu = create(['backend=opengles']);
  keep.gpu = gpu;
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  keep.adapter = adapter;
  if (!adapter) {
    fail(3, 'no WebGPU adapter from Dawn\'s OpenGL ES backend: it needs EGL_PLATFORM=surfaceless and Mesa\'s EGL ' +
      '(apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri: dawn.node opens libEGL.so, which only the -dev package provides)');
  }
  const requiredLimits = {};
  for (const k of computeLimits) {
    if (adapter.limits[k] !== undefined) requiredLimits[k] = adapter.limits[k];
  }
  const device = await adapter.requestDevice({ requiredLimits });
  const limits = {};
  for (const k of computeLimits) limits[k] = device.limits[k];
  const info = {};
  for (const k of ['vendor', 'architecture', 'device', 'description']) info[k] = adapter.info?.[k] ?? '';
  info.backend = 'opengles';
  info.featureLevel = 'compatibility';
  return { device, info, limits };
}

const kindLayout = {
  uniform: { type: 'uniform' },
  read: { type: 'read-only-storage' },
  read_write: { type: 'storage' },
};

// scoped runs fn inside validation, out-of-memory and internal error scopes
// and returns fn's value, throwing the first error any scope caught.
async function scoped(device, fn) {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('internal');
  let value, thrown;
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

function formatMessage(m) {
  const where = m.lineNum ? `${m.lineNum}:${m.linePos}: ` : '';
  return `${where}${m.type}: ${m.message}`;
}

function stageError(stage, e) {
  const err = new Error(e?.message ?? String(e));
  err.stage = stage;
  return err;
}

// compile creates the shader module, collecting Tint's diagnostics, and the
// pipeline with an explicit bind-group layout.
async function compile(device, k) {
  const warnings = [];
  // Shader: Tint parses and resolves the module.
  let module;
  try {
    module = await scoped(device, async () => {
      const m = device.createShaderModule({ label: k.name, code: k.wgsl });
      const info = await m.getCompilationInfo();
      const errors = [];
      for (const msg of info.messages) {
        if (msg.type === 'error') errors.push(formatMessage(msg));
        else warnings.push(formatMessage(msg));
      }
      if (errors.length) throw new Error(errors.join('\n'));
      return m;
    });
  } catch (e) {
    throw stageError('shader', e);
  }

  // Pipeline: the explicit layout is the kernel's binding contract.
  let layout, pipeline;
  try {
    [layout, pipeline] = await scoped(device, async () => {
      const entries = k.bindings.map((b, i) => {
        const buffer = kindLayout[b.kind];
        if (!buffer) throw new Error(`binding ${i}: kind ${JSON.stringify(b.kind)} is not uniform, read or read_write`);
        return { binding: i, visibility: GPUShaderStage.COMPUTE, buffer };
      });
      const bgl = device.createBindGroupLayout({ label: k.name, entries });
      const pl = device.createPipelineLayout({ label: k.name, bindGroupLayouts: [bgl] });
      const p = device.createComputePipeline({
        label: k.name, layout: pl, compute: { module, entryPoint: 'main' },
      });
      return [bgl, p];
    });
  } catch (e) {
    throw stageError('pipeline', e);
  }
  return { layout, pipeline, warnings };
}

// pipelines caches compiled kernels by source and binding kinds, so that
// runs of one kernel on several inputs compile (and llvmpipe JITs) it once.
// Compile-only batches, of distinct kernels, skip it.
const pipelines = new Map();

async function checkKernel(device, k) {
  if (typeof k.wgsl !== 'string' || !Array.isArray(k.bindings)) {
    throw stageError('input', 'kernel needs wgsl and bindings');
  }
  const key = JSON.stringify([k.wgsl, k.bindings.map((b) => b.kind)]);
  let compiled = pipelines.get(key);
  if (!compiled) {
    compiled = await compile(device, k);
    if (!compileOnly) pipelines.set(key, compiled);
  }
  const { layout, pipeline, warnings } = compiled;
  if (compileOnly) return { warnings, outputs: [] };

  // Run once and read back the outputs.
  const buffers = [];
  const staging = [];
  try {
    return await scoped(device, async () => {
      for (const [i, b] of k.bindings.entries()) {
        const data = b.data ? Buffer.from(b.data, 'base64') : Buffer.alloc(0);
        const align = b.kind === 'uniform' ? 16 : 4;
        const size = Math.max(align, Math.ceil(Math.max(b.size ?? 0, data.length) / align) * align);
        const usage = b.kind === 'uniform'
          ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
          : GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
        const buf = device.createBuffer({ label: `${k.name} binding ${i}`, size, usage });
        buffers.push(buf);
        if (data.length) {
          const padded = Buffer.alloc(Math.ceil(data.length / 4) * 4);
          data.copy(padded);
          device.queue.writeBuffer(buf, 0, padded);
        }
      }
      const group = device.createBindGroup({
        label: k.name, layout,
        entries: buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })),
      });
      const enc = device.createCommandEncoder({ label: k.name });
      const pass = enc.beginComputePass({ label: k.name });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      const [x, y, z] = k.dispatch ?? [1, 1, 1];
      pass.dispatchWorkgroups(x, y ?? 1, z ?? 1);
      pass.end();
      for (const o of k.outputs ?? []) {
        const src = buffers[o];
        if (!src) throw new Error(`output ${o} is not a binding`);
        const dst = device.createBuffer({ label: `${k.name} readback ${o}`, size: src.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        staging.push(dst);
        enc.copyBufferToBuffer(src, 0, dst, 0, src.size);
      }
      device.queue.submit([enc.finish()]);
      const outputs = [];
      for (const dst of staging) {
        await dst.mapAsync(GPUMapMode.READ);
        outputs.push(Buffer.from(dst.getMappedRange()).toString('base64'));
        dst.unmap();
      }
      return { warnings, outputs };
    });
  } catch (e) {
    throw stageError('run', e);
  } finally {
    for (const b of [...buffers, ...staging]) b.destroy();
  }
}

async function main() {
  let kernels = [];
  if (!probeOnly) {
    let text;
    try {
      text = readFileSync(files[0] && files[0] !== '-' ? files[0] : 0, 'utf8');
      kernels = JSON.parse(text);
    } catch (e) {
      fail(2, `reading kernels: ${e.message}`);
    }
    if (!Array.isArray(kernels)) fail(2, 'input is not a JSON array of kernels');
  }
  const { device, info, limits } = await openDevice();
  let lost = null;
  device.lost.then((l) => { lost = l; });
  const uncaptured = [];
  device.onuncapturederror = (ev) => uncaptured.push(ev.error?.message ?? String(ev.error));
  emit({ adapter: info, limits });
  for (const [index, k] of kernels.entries()) {
    const res = { index, name: k?.name ?? '', ok: false, stage: '', error: '', warnings: [], outputs: [] };
    try {
      const r = await checkKernel(device, k);
      res.ok = true;
      res.warnings = r.warnings;
      res.outputs = r.outputs;
    } catch (e) {
      res.stage = e.stage ?? 'run';
      res.error = e.message;
    }
    if (uncaptured.length) {
      res.ok = false;
      res.stage ||= 'run';
      res.error = [res.error, ...uncaptured.splice(0)].filter(Boolean).join('\n');
    }
    if (lost) {
      res.ok = false;
      res.stage ||= 'run';
      res.error = [res.error, `device lost (${lost.reason}): ${lost.message}`].filter(Boolean).join('\n');
      emit(res);
      fail(4, `device lost after kernel ${index} (${res.name})`);
    }
    emit(res);
  }
  device.destroy();
  process.exit(0);
}

main().catch((e) => fail(3, e?.stack ?? String(e)));
