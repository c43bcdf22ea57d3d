/**
 * Reading config and policy files from disk. The only I/O of src/policy/:
 * everything else there works on text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compareText } from '../util/compare.js';
import { parseConfig } from './config-file.js';
import {
  anyEngine,
  checkDeployment,
  checkPolicyNamesFitEngines,
  checkUniqueComponents,
} from './deployment.js';
import { DiagnosticList } from './diagnostics.js';
import type { Environment } from '../util/environment.js';
import type { ComponentPolicy, Deployment } from './model.js';
import { type ParsedPolicy, parsePolicy } from './policy-file.js';
import { MAX_FILE_BYTES } from './yaml-source.js';

const POLICY_EXTENSIONS = new Set(['.yaml', '.yml']);
/** A policy directory with more files than this is not a policy directory. */
const MAX_POLICY_FILES = 1000;

export interface LoadResult<T> {
  readonly value: T | undefined;
  readonly diagnostics: DiagnosticList;
}

export function loadDeployment(configPath: string, env: Environment): LoadResult<Deployment> {
  const diags = new DiagnosticList();
  const file = path.resolve(configPath);
  const text = readInputFile(file, diags);
  const parsedConfig = text === undefined ? undefined : parseConfig(file, text, env, diags);
  if (!parsedConfig) return { value: undefined, diagnostics: diags };
  const policyFiles = listPolicyFiles(parsedConfig.policyPaths, diags);
  const policies = parsePolicyFiles(policyFiles, diags);
  // Cross-file checks run on whatever parsed, so one broken file does not hide the rest's problems.
  const deployment = checkDeployment(parsedConfig, policyFiles, policies, diags);
  return { value: diags.hasErrors ? undefined : deployment, diagnostics: diags };
}

/** Policy files on their own, without a config: names must fit every engine. */
export function loadPolicies(paths: readonly string[]): LoadResult<readonly ComponentPolicy[]> {
  const diags = new DiagnosticList();
  const files = listPolicyFiles(
    paths.map((p) => path.resolve(p)),
    diags,
  );
  const policies = parsePolicyFiles(files, diags);
  checkUniqueComponents(policies, diags);
  for (const parsed of policies) checkPolicyNamesFitEngines(parsed, anyEngine, diags);
  return { value: diags.hasErrors ? undefined : policies.map((p) => p.policy), diagnostics: diags };
}

function parsePolicyFiles(files: readonly string[], diags: DiagnosticList): ParsedPolicy[] {
  const parsed: ParsedPolicy[] = [];
  for (const file of files) {
    const text = readInputFile(file, diags);
    const policy = text === undefined ? undefined : parsePolicy(file, text, diags);
    if (policy) parsed.push(policy);
  }
  return parsed;
}

/** Directories expand to their *.yaml and *.yml files (not recursively), sorted. */
export function listPolicyFiles(paths: readonly string[], diags: DiagnosticList): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const stat = statOrReport(p, diags);
    if (!stat) continue;
    if (!stat.isDirectory()) {
      files.push(p);
      continue;
    }
    const inDir = fs
      .readdirSync(p)
      .filter((name) => POLICY_EXTENSIONS.has(path.extname(name)))
      .sort(compareText)
      .map((name) => path.join(p, name));
    if (inDir.length === 0) {
      diags.error({ file: p, line: 0, col: 0 }, 'policy directory holds no .yaml or .yml files');
    } else if (inDir.length > MAX_POLICY_FILES) {
      diags.error(
        { file: p, line: 0, col: 0 },
        `policy directory holds ${inDir.length} files, more than ${MAX_POLICY_FILES}`,
      );
    } else {
      files.push(...inDir);
    }
  }
  return [...new Set(files)];
}

/** Reads a small UTF-8 input file; problems become diagnostics naming the file. */
export function readInputFile(file: string, diags: DiagnosticList): string | undefined {
  const stat = statOrReport(file, diags);
  if (!stat) return undefined;
  const at = { file, line: 0, col: 0 };
  if (!stat.isFile()) {
    diags.error(at, 'not a regular file');
    return undefined;
  }
  if (stat.size > MAX_FILE_BYTES) {
    diags.error(at, `file is ${stat.size} bytes, larger than the ${MAX_FILE_BYTES} bytes dbwarden reads`);
    return undefined;
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    diags.error(at, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}

function statOrReport(file: string, diags: DiagnosticList): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${code ?? (err as Error).message}`;
    diags.error({ file, line: 0, col: 0 }, message);
    return undefined;
  }
}
