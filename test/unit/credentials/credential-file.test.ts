/** The pure parts of the credential file contract: formatting and parsing. */
import { describe, expect, it } from 'vitest';
import {
  type CredentialFile,
  CredentialFileError,
  formatCredentialFile,
  jsonErrorOffset,
  parseCredentialFile,
} from '../../../src/credentials/credential-file.js';
import { ExitCode } from '../../../src/errors.js';

const FILE = '/etc/nova/credentials/scheduler.json';
const SECRET = 'FAKE-SECRET-do-not-print';

const scheduler: CredentialFile = {
  component: 'scheduler',
  username: 'nova_scheduler',
  password: SECRET,
  targets: {
    nova_cell1: { url: 'postgresql://nova_scheduler:x@db/nova_cell1' },
    nova_api: { url: 'postgresql://nova_scheduler:x@db/nova_api' },
  },
};

function parseError(text: string): CredentialFileError {
  try {
    parseCredentialFile(text, FILE, 'scheduler');
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialFileError);
    return error as CredentialFileError;
  }
  throw new Error('expected parseCredentialFile to throw');
}

describe('formatCredentialFile', () => {
  it('writes the contract’s fields in order with targets sorted by name', () => {
    const text = formatCredentialFile(scheduler);
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['component', 'username', 'password', 'targets']);
    expect(text.indexOf('"nova_api"')).toBeLessThan(text.indexOf('"nova_cell1"'));
  });

  it('round-trips through parseCredentialFile', () => {
    const parsed = parseCredentialFile(formatCredentialFile(scheduler), FILE, 'scheduler');
    expect(parsed).toEqual(scheduler);
    expect(Object.keys(parsed.targets)).toEqual(['nova_api', 'nova_cell1']);
  });
});

describe('parseCredentialFile', () => {
  it('ignores fields outside the contract', () => {
    const parsed = parseCredentialFile(JSON.stringify({ ...scheduler, extra: 1 }), FILE, 'scheduler');
    expect(parsed).not.toHaveProperty('extra');
  });

  it.each([
    ['a quoted secret cut short', `{"component": "scheduler", "password": "${SECRET}`],
    ['an unquoted secret', `{"component": "scheduler", "password": ${SECRET}}`],
    ['a trailing comma after a secret', `{"password": "${SECRET}",}`],
    ['only a secret', SECRET],
  ])('reports invalid JSON (%s) with its path and position only', (_label, text) => {
    const error = parseError(text);
    expect(error.message).toMatch(
      /^\/etc\/nova\/credentials\/scheduler\.json: not valid JSON \(line 1, column \d+\)$/,
    );
    expect(error.message).not.toContain('FAKE');
    expect(error.message).not.toContain('do-not');
    expect(error.path).toBe(FILE);
    expect(error.exitCode).toBe(ExitCode.runtimeFailure);
    expect(error.hint).toContain('dbwarden apply --rotate-passwords --component scheduler');
  });

  it('reports the line and column of a syntax error on a later line', () => {
    expect(parseError(`{\n  "password": "${SECRET}"\n  "username": "x"\n}`).message).toMatch(
      /line 3, column 3\)$/,
    );
  });

  it.each([
    ['an array', [], 'expected a JSON object'],
    ['another component', { ...scheduler, component: 'api' }, 'field "component" must be "scheduler"'],
    ['no username', { ...scheduler, username: undefined }, 'field "username" must be a non-empty string'],
    ['an empty password', { ...scheduler, password: '' }, 'field "password" must be a non-empty string'],
    ['a numeric password', { ...scheduler, password: 12345 }, 'field "password" must be a non-empty string'],
    ['targets as a list', { ...scheduler, targets: [] }, 'field "targets" must be an object'],
    [
      'a target without url',
      { ...scheduler, targets: { nova_api: {} } },
      'field "targets.nova_api.url" must be a non-empty string',
    ],
    [
      'a target name that is not safe to print',
      { ...scheduler, targets: { a: { url: 'u' }, [SECRET + ' !']: null } },
      'field "targets (entry 2)" must be an object',
    ],
  ])('rejects %s naming the field', (_label, value, problem) => {
    const error = parseError(JSON.stringify(value));
    expect(error.message).toBe(`${FILE}: ${problem}`);
    expect(error.message).not.toContain('FAKE');
  });
});

describe('jsonErrorOffset', () => {
  it('finds no error in valid JSON', () => {
    for (const text of ['{}', '[]', ' 1 ', '-0.5e+3', '"a\\u00e9\\n"', '{"a":[true,false,null,{"b":"c"}]}']) {
      expect(jsonErrorOffset(text)).toBeUndefined();
    }
  });

  it('agrees with V8 wherever V8 reports a position', () => {
    const broken = [
      '{"a":1',
      '{"a":1,}',
      '{"a" 1}',
      '[1 2]',
      '"abc',
      '{"a":"b\\x"}',
      '[01]',
      '{"a":1}x',
      '"\t"',
    ];
    for (const text of broken) {
      let position: number | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        const match = /at position (\d+)/.exec((error as Error).message);
        position = match ? Number(match[1]) : undefined;
      }
      expect(position, text).toBeDefined();
      expect(jsonErrorOffset(text), text).toBe(position);
    }
  });

  it('locates errors V8 reports only by quoting the input', () => {
    expect(jsonErrorOffset('{"a": secret}')).toBe(6);
    expect(jsonErrorOffset('not json')).toBe(0);
    expect(jsonErrorOffset('')).toBe(0);
  });
});
