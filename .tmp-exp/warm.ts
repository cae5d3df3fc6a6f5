import { compileProgram } from '../src/sql/program.ts';
import { WarmState } from '../src/controller/warm-state.ts';
import { seed, PROGRAM, FINGERPRINT } from '../bench/standby/primary.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
const sess = new Session(); sess.connect(); await sess.post('Profiler.enable'); await sess.post('Profiler.setSamplingInterval', { interval: 100 });
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const n = Number(process.argv[2] ?? 5_000_000);
const dir = mkdtempSync(join(tmpdir(), 'warm-exp-'));
const s = await seed(dir, n, 6);
console.log('seeded', s.buildSeconds.toFixed(1));
const program = await compileProgram(PROGRAM);
const warm = new WarmState(program, FINGERPRINT);
for (const c of s.checkpoints) {
  if (c.index >= 1 && c.index <= 2) await sess.post('Profiler.start');
  const t0 = process.threadCpuUsage();
  const r = await warm.load(s.store, c.uuid);
  const cpu = process.threadCpuUsage(t0);
  if (c.index >= 1 && c.index <= 2) { const { profile } = await sess.post('Profiler.stop'); writeFileSync(`/tmp/mb/warm${c.index}.cpuprofile`, JSON.stringify(profile)); }
  console.log(c.index, r.mode, r.seconds.toFixed(3), 'cpu', ((cpu.user + cpu.system) / 1000).toFixed(0), 'ms', r.rowsRead);
  await warm.prewarm();
}
