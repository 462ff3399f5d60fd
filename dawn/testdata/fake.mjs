// fake.mjs stands in for check.mjs in the Go package's tests of its
// process handling: it needs Node only. Each kernel's name says what to do:
// "abort" kills the process (SIGKILL, so no core file), "hang" stops
// reporting, "lost" reports and exits as check.mjs does after a lost
// device, "exit" exits without reporting; any other kernel succeeds with
// its output bindings' data.
import { readFileSync, writeSync } from 'node:fs';

const emit = (o) => writeSync(1, JSON.stringify(o) + '\n');
const kernels = process.argv.includes('--probe') ? [] : JSON.parse(readFileSync(0, 'utf8'));
emit({ adapter: { device: 'fake', backend: 'none' }, limits: { maxComputeInvocationsPerWorkgroup: 7 } });
for (const [index, k] of kernels.entries()) {
  switch (k.name) {
    case 'abort':
      writeSync(2, 'fake: aborting\n');
      process.kill(process.pid, 'SIGKILL');
    case 'hang':
      await new Promise(() => setInterval(() => {}, 1000));
    case 'exit':
      process.exit(0);
  }
  const outputs = (k.outputs ?? []).map((o) => k.bindings[o].data ?? '');
  emit({ index, name: k.name, ok: true, stage: '', error: '', warnings: [], outputs });
  if (k.name === 'lost') process.exit(4);
}
process.exit(0);
