// Loaded with `node --import` into the benchmark's `dbwarden upgrade` child (cli-rotation.ts):
// on exit, writes the process's peak RSS in kilobytes (the kernel's high-water mark, every
// thread included) to $BENCH_MAXRSS_FILE. Nothing else.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.BENCH_MAXRSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
