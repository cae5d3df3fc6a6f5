/** Shared helpers for suites: statistics, machine description, and regenerating a marked section of a file. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface MachineInfo {
  date: string;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  totalMemoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
  };
}

/** Formats an integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` in `file` (creating the file from
 * `intro` and/or appending the markers when missing).
 */
export function replaceSection(file: string, name: string, body: string, intro: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : intro;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}

/**
 * Writes a suite's JSON report to `bench/results/<name>.json` and its `<name>` section of BENCHMARKS.md (a full,
 * official run), or to the git-ignored `<name>.tmp-scratch.json` and the console (quick or partial runs).
 */
export function writeSuiteResults(
  root: string,
  name: string,
  official: boolean,
  report: unknown,
  markdown: string,
): void {
  const dir = join(root, 'bench/results');
  const file = join(dir, official ? `${name}.json` : `${name}.tmp-scratch.json`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`  wrote ${file}`);
  if (official) {
    replaceSection(join(root, 'BENCHMARKS.md'), name, markdown, '# Benchmarks\n');
    console.log(`  updated the ${name} section of BENCHMARKS.md`);
  } else console.log(markdown);
}
