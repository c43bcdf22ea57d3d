/**
 * What must be undone when the demo ends, however it ends: normal end, a failed step, Ctrl-C
 * (SIGINT), SIGTERM, or a crash. Tasks run newest first, each at most once. Each has a synchronous
 * form for the process `exit` handler, the last chance after a crash.
 */
import { errorText } from './errors.js';

interface Task {
  readonly name: string;
  readonly run: () => Promise<void>;
  readonly runSync: () => void;
}

let tasks: Task[] = [];

/** Registers a task; returns a function that removes it again (when it was done another way). */
export function onCleanup(task: Task): () => void {
  tasks.push(task);
  return () => {
    tasks = tasks.filter((t) => t !== task);
  };
}

/** Runs every task, newest first; a failing task is reported and the others still run. */
export async function cleanUp(): Promise<void> {
  while (tasks.length > 0) {
    const task = tasks.pop();
    if (!task) break;
    try {
      await task.run();
    } catch (err) {
      process.stderr.write(`cleanup: could not ${task.name}: ${errorText(err)}\n`);
    }
  }
}

export function cleanUpSync(): void {
  while (tasks.length > 0) {
    const task = tasks.pop();
    if (!task) break;
    try {
      task.runSync();
    } catch (err) {
      process.stderr.write(`cleanup: could not ${task.name}: ${errorText(err)}\n`);
    }
  }
}

/** Forgets every task: what they would undo stays (npm start -- --keep). */
export function keepEverything(): void {
  tasks = [];
}
