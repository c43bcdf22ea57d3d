/**
 * One policy file, from YAML text to the frozen model: every problem is an
 * error naming file:line:col with a message (and a hint saying what is allowed).
 * Pure: no file is read.
 */
import { describe, expect, it } from 'vitest';
import { type Diagnostic, DiagnosticList } from '../../../src/policy/diagnostics.js';
import { parsePolicy } from '../../../src/policy/policy-file.js';
import { MAX_FILE_BYTES, MAX_NESTING_DEPTH } from '../../../src/policy/yaml-source.js';

const FILE = 'policies/web.yaml';
const VERB_LIST = 'allowed: select, insert, update, delete';

/** Lines joined with newlines, so a test reads with its line numbers. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** An error diagnostic in FILE, as the tests expect it. */
const error = (line: number, col: number, message: string, hint?: string): Diagnostic => ({
  severity: 'error',
  file: FILE,
  line,
  col,
  message,
  ...(hint === undefined ? {} : { hint }),
});

function parse(text: string) {
  const diags = new DiagnosticList();
  const parsed = parsePolicy(FILE, text, diags);
  return { parsed, errors: diags.errors, warnings: diags.warnings };
}

/** A policy with one database kind `main` whose `tables:` mapping holds `tableLines`. */
const withTables = (...tableLines: string[]) =>
  yaml('component: web', 'databases:', '  main:', '    tables:', ...tableLines);

describe('unknown keys', () => {
  it('at the top level, with a did-you-mean and the allowed keys', () => {
    const { parsed, errors } = parse(
      yaml('component: web', 'databses:', '  main:', '    tables:', '      t: [select]'),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: FILE,
      line: 2,
      col: 1,
      severity: 'error',
      message: 'unknown key "databses"',
      hint: 'did you mean "databases"? allowed: component, description, databases',
    });
  });

  it('at the database kind level, pointing at the misspelt key', () => {
    const { errors } = parse(
      yaml('component: web', 'databases:', '  main:', '    tabels:', '      t: [select]'),
    );
    expect(errors).toEqual([
      { severity: 'error', file: FILE, line: 4, col: 5, message: 'missing required key "tables"' },
      error(4, 5, 'unknown key "tabels"', 'did you mean "tables"? allowed: schema, tables'),
    ]);
  });

  it('as a verb of the column form', () => {
    const { errors } = parse(withTables('      instances:', '        selct: [uuid, host]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 6, col: 9, message: 'unknown verb "selct"' });
    expect(errors[0]?.hint).toContain('did you mean "select"');
    expect(errors[0]?.hint).toContain(VERB_LIST);
  });

  it('lists the allowed keys without a suggestion when nothing is close', () => {
    const { errors } = parse(yaml('component: web', 'owner: team-a'));
    expect(errors).toEqual([
      error(2, 1, 'unknown key "owner"', 'allowed: component, description, databases'),
    ]);
  });
});

describe('unknown verbs in the list form', () => {
  it('names the verb at its own line:col, with a did-you-mean', () => {
    const { errors } = parse(withTables('      services: [select, insrt]'));
    expect(errors).toEqual([error(5, 26, 'unknown verb "insrt"', `did you mean "insert"? ${VERB_LIST}`)]);
  });

  it('suggests select for selct', () => {
    const { errors } = parse(withTables('      t: [selct]'));
    expect(errors[0]).toMatchObject({ line: 5, col: 11, message: 'unknown verb "selct"' });
    expect(errors[0]?.hint).toContain('did you mean "select"');
  });

  it('lists the verbs without a suggestion when nothing is close', () => {
    const { errors } = parse(withTables('      t: [select, truncate]'));
    expect(errors).toEqual([error(5, 19, 'unknown verb "truncate"', VERB_LIST)]);
  });

  it('refuses a single verb written as a string instead of a list', () => {
    const { errors } = parse(withTables('      t: select'));
    expect(errors).toEqual([error(5, 10, 'expected a list or a mapping, found a string')]);
  });
});

describe('duplicates', () => {
  it('a table listed twice is a YAML duplicate key, reported at the second one', () => {
    const { parsed, errors } = parse(
      withTables('      t: [select]', '      u: [select]', '      t: [insert]'),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([error(7, 7, 'duplicate key "t"', 'each key may appear once in a mapping')]);
  });

  it('a quoted and a plain spelling of one table are the same key, named once quoted', () => {
    const { errors } = parse(withTables('      t: [select]', '      "t": [insert]'));
    expect(errors).toEqual([expect.objectContaining({ line: 6, col: 7, message: 'duplicate key "t"' })]);
  });

  it('a database kind listed twice', () => {
    const { errors } = parse(
      yaml(
        'component: web',
        'databases:',
        '  main:',
        '    tables:',
        '      t: [select]',
        '  main:',
        '    tables:',
        '      u: [select]',
      ),
    );
    expect(errors).toEqual([expect.objectContaining({ line: 6, col: 3, message: 'duplicate key "main"' })]);
  });

  it('a verb listed twice in one list', () => {
    const { errors } = parse(withTables('      t: [select, insert, select]'));
    expect(errors).toEqual([error(5, 27, 'duplicate verb "select"', 'list each verb once')]);
  });

  it('a column listed twice, each repetition reported', () => {
    const { errors } = parse(withTables('      t:', '        select: [id, name, id, id]'));
    expect(errors).toEqual([
      error(6, 28, 'duplicate column "id"', 'list each column once'),
      error(6, 32, 'duplicate column "id"', 'list each column once'),
    ]);
  });
});

describe('empty lists and whole-row verbs', () => {
  it('refuses an empty verb list', () => {
    const { errors } = parse(withTables('      t: []'));
    expect(errors).toEqual([error(5, 10, 'empty verb list: list at least one verb, or remove the table')]);
  });

  it('refuses an empty column list', () => {
    const { errors } = parse(withTables('      t:', '        select: []'));
    expect(errors).toEqual([error(6, 17, 'empty column list: list at least one column, or remove the verb')]);
  });

  it('refuses a column form with no verbs', () => {
    const { errors } = parse(withTables('      t: {}'));
    expect(errors).toEqual([
      error(5, 10, 'no verbs given', 'list at least one of: select, insert, update, delete'),
    ]);
  });

  it('refuses a database kind without tables', () => {
    const { errors } = parse(yaml('component: web', 'databases:', '  main:', '    tables: {}'));
    expect(errors).toEqual([
      error(
        4,
        5,
        'database kind "main" lists no tables',
        'list the tables this component needs, or remove the database kind',
      ),
    ]);
  });

  it('refuses delete limited to columns, saying delete applies to whole rows', () => {
    const { errors } = parse(withTables('      t:', '        select: [id]', '        delete: [id]'));
    expect(errors).toEqual([
      error(7, 17, 'delete applies to whole rows: write `delete: all`, or use the list form'),
    ]);
  });

  it('accepts `delete: all` next to column-limited verbs', () => {
    const { parsed, errors } = parse(withTables('      t:', '        select: [id]', '        delete: all'));
    expect(errors).toEqual([]);
    expect(parsed?.policy.databases[0]?.tables[0]?.grants).toEqual([
      { verb: 'select', columns: ['id'] },
      { verb: 'delete', columns: 'all' },
    ]);
  });
});

describe('names no engine can hold', () => {
  it.each([
    ['NUL', 'a\\0b', 'a\\u0000b', 'U+0000'],
    ['a tab', 'a\\tb', 'a\\tb', 'U+0009'],
    ['an escape character', 'a\\eb', 'a\\u001bb', 'U+001B'],
    ['a right-to-left override', 'users\\u202Eresu', 'users\\u202eresu', 'U+202E'],
    ['a zero-width space', 'us\\u200Bers', 'us\\u200bers', 'U+200B'],
    ['a C1 control character', 'a\\u009Bb', 'a\\u009bb', 'U+009B'],
  ])('refuses a table name holding %s', (_what, yamlEscaped, shown, code) => {
    const { parsed, errors } = parse(withTables('      t: [select]', `      "${yamlEscaped}": [select]`));
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(6, 7, `table name "${shown}" contains the control or invisible character ${code}`),
    ]);
  });

  it('refuses a bidi override in a column name, at the column', () => {
    const { errors } = parse(withTables('      t:', '        select: [id, "na\\u202Eme"]'));
    expect(errors).toEqual([
      error(6, 22, 'column name "na\\u202eme" contains the control or invisible character U+202E'),
    ]);
  });

  it('escapes control and invisible characters it quotes, so a message prints as it reads', () => {
    const { errors } = parse(yaml('component: web', '"own\\u202Eer\\u009B": x'));
    expect(errors).toEqual([
      error(2, 1, 'unknown key "own\\u202eer\\u009b"', 'allowed: component, description, databases'),
    ]);
    expect(JSON.stringify(errors)).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('refuses a control character in a schema name', () => {
    const { errors } = parse(
      yaml(
        'component: web',
        'databases:',
        '  main:',
        '    schema: "app\\x07"',
        '    tables:',
        '      t: [select]',
      ),
    );
    expect(errors).toEqual([
      error(4, 13, 'schema "app\\u0007" contains the control or invisible character U+0007'),
    ]);
  });

  it('refuses an empty table name and an empty column name', () => {
    const { errors } = parse(withTables('      "": [select]', '      t: [select]'));
    expect(errors).toEqual([
      { severity: 'error', file: FILE, line: 5, col: 7, message: 'table name "" is empty' },
    ]);
    const columns = parse(withTables('      t:', '        select: [""]'));
    expect(columns.errors).toEqual([
      { severity: 'error', file: FILE, line: 6, col: 18, message: 'an identifier cannot be empty' },
    ]);
  });

  it('keeps a table name exactly as written (1.50 is not the number 1.5)', () => {
    const { parsed, errors } = parse(withTables('      1.50: [select]', '      true: [select]'));
    expect(errors).toEqual([]);
    expect(parsed?.policy.databases[0]?.tables.map((t) => t.table)).toEqual(['1.50', 'true']);
  });

  it('refuses a list used as a table name', () => {
    const { errors } = parse(withTables('      ? [a, b]', '      : [select]'));
    expect(errors).toEqual([
      error(5, 9, 'YAML: a key must be a plain name, not a list, a mapping or an alias'),
    ]);
  });

  it.each([
    ['Web', 'invalid value "Web": component must be lowercase letters, digits and _, starting with a letter'],
    [
      'web_role',
      'component names cannot end in _role: that suffix names the grant role of another component',
    ],
  ])('refuses the component name %s', (component, message) => {
    const { errors } = parse(yaml(`component: ${component}`));
    expect(errors).toEqual([{ severity: 'error', file: FILE, line: 1, col: 12, message }]);
  });

  it('refuses a database kind that is not a lowercase name', () => {
    const { errors } = parse(
      yaml('component: web', 'databases:', '  Main:', '    tables:', '      t: [select]'),
    );
    expect(errors).toEqual([
      expect.objectContaining({
        line: 3,
        col: 3,
        message:
          'invalid value "Main": database kind must be lowercase letters, digits and _, starting with a letter',
      }),
    ]);
  });
});

describe('document shape', () => {
  it('requires a component', () => {
    const { errors } = parse(yaml('description: nothing else'));
    expect(errors).toEqual([
      { severity: 'error', file: FILE, line: 1, col: 1, message: 'missing required key "component"' },
    ]);
  });

  it('refuses an empty file and a file that is a list', () => {
    expect(parse('').errors).toEqual([
      { severity: 'error', file: FILE, line: 1, col: 1, message: 'expected a mapping, found nothing' },
    ]);
    expect(parse(yaml('- component: web')).errors).toEqual([
      { severity: 'error', file: FILE, line: 1, col: 1, message: 'expected a mapping, found a list' },
    ]);
  });

  it('reports YAML syntax errors at their place', () => {
    const { errors } = parse(yaml('component: web', '\tdatabases: {}'));
    expect(errors).toEqual([error(2, 1, 'YAML: Tabs are not allowed as indentation')]);
  });

  it('refuses a second YAML document in the file', () => {
    const { errors } = parse(yaml('component: web', '---', 'component: worker'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 2, col: 1 });
    expect(errors[0]?.message).toMatch(/^YAML: Source contains multiple documents/);
  });
});

describe('anchors, aliases and merge keys', () => {
  it('expand an alias of a verb list and merge a base column form with <<', () => {
    const { parsed, errors } = parse(
      withTables(
        '      flavors: &read [select]',
        '      quotas: *read',
        '      instances: &base',
        '        select: [uuid, host]',
        '        update: [host]',
        '      migrations:',
        '        <<: *base',
        '        select: [uuid]',
        '        insert: [uuid]',
      ),
    );
    expect(errors).toEqual([]);
    expect(parsed?.policy.databases[0]?.tables).toEqual([
      { table: 'flavors', grants: [{ verb: 'select', columns: 'all' }] },
      {
        table: 'instances',
        grants: [
          { verb: 'select', columns: ['host', 'uuid'] },
          { verb: 'update', columns: ['host'] },
        ],
      },
      {
        table: 'migrations',
        grants: [
          { verb: 'select', columns: ['uuid'] },
          { verb: 'insert', columns: ['uuid'] },
          { verb: 'update', columns: ['host'] },
        ],
      },
      { table: 'quotas', grants: [{ verb: 'select', columns: 'all' }] },
    ]);
  });

  it('refuses an alias bomb (billion laughs) quickly, with one error', () => {
    const levels = ['      a0: &a0 [select]'];
    for (let i = 1; i <= 9; i++) {
      levels.push(`      a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    }
    const started = performance.now();
    const { parsed, errors } = parse(withTables(...levels));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(0, 0, 'YAML: Excessive alias count indicates a resource exhaustion attack'),
    ]);
  });
});

describe('resource limits', () => {
  const descriptionOfBytes = (fileBytes: number) => {
    const head = 'component: web\ndescription: ';
    return `${head}${'x'.repeat(fileBytes - head.length - 1)}\n`;
  };

  it(`refuses a file larger than ${MAX_FILE_BYTES} bytes before parsing it`, () => {
    const text = descriptionOfBytes(MAX_FILE_BYTES + 1);
    expect(Buffer.byteLength(text)).toBe(1024 * 1024 + 1);
    const { parsed, errors } = parse(text);
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        0,
        0,
        'file is 1048577 bytes, larger than the 1048576 bytes dbwarden reads',
        'split it into one file per component',
      ),
    ]);
  });

  it('reads a file of exactly the limit', () => {
    const { parsed, errors } = parse(descriptionOfBytes(MAX_FILE_BYTES));
    expect(errors).toEqual([]);
    expect(parsed?.policy.description).toHaveLength(
      MAX_FILE_BYTES - 'component: web\ndescription: \n'.length,
    );
  });

  it('counts bytes, not characters', () => {
    const text = `component: web\ndescription: ${'é'.repeat(MAX_FILE_BYTES / 2)}\n`;
    expect(text.length).toBeLessThan(MAX_FILE_BYTES);
    expect(parse(text).errors[0]?.message).toMatch(/^file is \d+ bytes, larger than the 1048576 bytes/);
  });

  it.each([
    ['5,000 unclosed [', 'description: ' + '['.repeat(5000)],
    ['5,000 balanced [ ]', 'description: ' + '['.repeat(5000) + ']'.repeat(5000)],
    ['5,000 nested { }', 'description: ' + '{a: '.repeat(5000) + '1' + '}'.repeat(5000)],
    ['5,000 compact block sequences', 'description:\n  ' + '- '.repeat(5000) + 'x'],
  ])('refuses a document nested %s deep with one error, without crashing', (_what, body) => {
    const started = performance.now();
    const { parsed, errors } = parse(`component: web\n${body}\n`);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(parsed).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: FILE,
      message: `YAML: nested more than ${MAX_NESTING_DEPTH} levels deep`,
      hint: 'policy and config files need only a few levels of nesting',
    });
    expect(errors[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it(`allows ${MAX_NESTING_DEPTH} levels and points at the first collection deeper than that`, () => {
    // The root mapping is level 1, so the description's n-th `[` opens level n + 1.
    const nested = (n: number) => `component: web\ndescription: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    expect(parse(nested(MAX_NESTING_DEPTH - 1)).errors).toEqual([
      { severity: 'error', file: FILE, line: 2, col: 14, message: 'expected a string, found a list' },
    ]);
    expect(parse(nested(MAX_NESTING_DEPTH)).errors).toEqual([
      {
        severity: 'error',
        file: FILE,
        line: 2,
        col: 14 + MAX_NESTING_DEPTH - 1,
        message: `YAML: nested more than ${MAX_NESTING_DEPTH} levels deep`,
        hint: 'policy and config files need only a few levels of nesting',
      },
    ]);
  });
});

describe('every problem of a file at once', () => {
  it('reports problems of different kinds together, sorted by line', () => {
    const { parsed, errors } = parse(
      yaml(
        'owner: team-a',
        'databases:',
        '  main:',
        '    tables:',
        '      services: [select, insrt]',
        '      instances:',
        '        selct: [uuid]',
        '        update: []',
        '      hosts:',
        '        delete: [id]',
        'component: Web',
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors.map((e) => [e.line, e.col, e.message])).toEqual([
      [1, 1, 'unknown key "owner"'],
      [5, 26, 'unknown verb "insrt"'],
      [7, 9, 'unknown verb "selct"'],
      [8, 17, 'empty column list: list at least one column, or remove the verb'],
      [10, 17, 'delete applies to whole rows: write `delete: all`, or use the list form'],
      [
        11,
        12,
        'invalid value "Web": component must be lowercase letters, digits and _, starting with a letter',
      ],
    ]);
  });

  it('reports every duplicate and bad name of a file together', () => {
    const { errors } = parse(
      withTables('      t: [select, select]', '      "u\\0": [select]', '      v:', '        insert: [a, a]'),
    );
    expect(errors.map((e) => [e.line, e.col, e.message])).toEqual([
      [5, 19, 'duplicate verb "select"'],
      [6, 7, 'table name "u\\u0000" contains the control or invisible character U+0000'],
      [8, 21, 'duplicate column "a"'],
    ]);
  });
});

describe('the model of a valid policy', () => {
  const text = yaml(
    'component: scheduler',
    'description: reads host state',
    'databases:',
    '  main:',
    '    tables:',
    '      services: [update, select, insert]',
    '      compute_nodes: [delete, select]',
    '      instances:',
    '        update: [vm_state]',
    '        select: [uuid, host, node]',
    '        insert: all',
    '  api:',
    '    schema: nova',
    '    tables:',
    '      aggregates: [select]',
  );

  it('is normalised: kinds and tables sorted, verbs in select/insert/update/delete order', () => {
    const { parsed, errors, warnings } = parse(text);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(parsed?.policy).toEqual({
      component: 'scheduler',
      description: 'reads host state',
      file: FILE,
      databases: [
        {
          kind: 'api',
          schema: 'nova',
          tables: [{ table: 'aggregates', grants: [{ verb: 'select', columns: 'all' }] }],
        },
        {
          kind: 'main',
          schema: undefined,
          tables: [
            {
              table: 'compute_nodes',
              grants: [
                { verb: 'select', columns: 'all' },
                { verb: 'delete', columns: 'all' },
              ],
            },
            {
              table: 'instances',
              grants: [
                { verb: 'select', columns: ['host', 'node', 'uuid'] },
                { verb: 'insert', columns: 'all' },
                { verb: 'update', columns: ['vm_state'] },
              ],
            },
            {
              table: 'services',
              grants: [
                { verb: 'select', columns: 'all' },
                { verb: 'insert', columns: 'all' },
                { verb: 'update', columns: 'all' },
              ],
            },
          ],
        },
      ],
    });
  });

  it('is deeply frozen', () => {
    const policy = parse(text).parsed?.policy;
    expect(policy).toBeDefined();
    if (!policy) return;
    const main = policy.databases[1];
    const instances = main?.tables[1];
    const select = instances?.grants[0];
    for (const part of [policy, policy.databases, main, main?.tables, instances, instances?.grants, select]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(Object.isFrozen(select?.columns)).toBe(true);
    expect(() => {
      (policy.databases as unknown[]).push({});
    }).toThrow(TypeError);
    expect(() => {
      (select?.columns as string[]).sort();
    }).toThrow(TypeError);
  });

  it('gives a component without databases no database access', () => {
    const { parsed, errors } = parse(yaml('component: compute', 'description: no database at all'));
    expect(errors).toEqual([]);
    expect(parsed?.policy).toMatchObject({ component: 'compute', databases: [] });
    expect(Object.isFrozen(parsed?.policy.databases)).toBe(true);
  });
});

describe('messages in plain words', () => {
  it('says what a column-form verb takes when it has no value', () => {
    const { errors } = parse(
      yaml('component: web', 'databases:', '  main:', '    tables:', '      t:', '        select:'),
    );
    expect(errors).toEqual([
      { severity: 'error', file: FILE, line: 6, col: 16, message: 'expected "all" or a list, found nothing' },
    ]);
  });

  it('says a verb was expected where a number stands', () => {
    const { errors } = parse(
      yaml('component: web', 'databases:', '  main:', '    tables:', '      t: [select, 1]'),
    );
    expect(errors).toEqual([
      error(5, 19, 'expected a verb, found a number', 'allowed: select, insert, update, delete'),
    ]);
  });
});

describe('every problem of a file at once', () => {
  it('reports structural and name problems together, and a duplicate key with what follows it', () => {
    const { parsed, errors } = parse(
      yaml(
        'component: web',
        'owner: me',
        'databases:',
        '  main:',
        '    tables:',
        '      orders: [select, select]',
        '      "bad\u202Ename": [select]',
        '      orders: [select, delet]',
      ),
    );
    expect(parsed).toBeUndefined();
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [2, 'unknown key "owner"'],
      [7, 'table name "bad\\u202ename" contains the control or invisible character U+202E'],
      [8, 'duplicate key "orders"'],
      [8, 'unknown verb "delet"'],
    ]);
  });
});

describe('names that are also names of JavaScript object properties', () => {
  it('keeps tables named __proto__, constructor, toString and hasOwnProperty, with their grants', () => {
    const { parsed, errors } = parse(
      withTables(
        '      __proto__: [select, insert]',
        '      constructor:',
        '        select: [__proto__, constructor]',
        '      toString: [delete]',
        '      hasOwnProperty: [update]',
        '      plain: [select]',
      ),
    );
    expect(errors).toEqual([]);
    expect(parsed?.policy.databases).toEqual([
      {
        kind: 'main',
        schema: undefined,
        tables: [
          {
            table: '__proto__',
            grants: [
              { verb: 'select', columns: 'all' },
              { verb: 'insert', columns: 'all' },
            ],
          },
          { table: 'constructor', grants: [{ verb: 'select', columns: ['__proto__', 'constructor'] }] },
          { table: 'hasOwnProperty', grants: [{ verb: 'update', columns: 'all' }] },
          { table: 'plain', grants: [{ verb: 'select', columns: 'all' }] },
          { table: 'toString', grants: [{ verb: 'delete', columns: 'all' }] },
        ],
      },
    ]);
  });

  it('checks the access of a table named __proto__ like any other, at its line:col', () => {
    const { parsed, errors } = parse(withTables('      __proto__: [selct]', '      t: [select]'));
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([error(5, 19, 'unknown verb "selct"', `did you mean "select"? ${VERB_LIST}`)]);
  });

  it('refuses a database kind named __proto__ at its key instead of dropping it', () => {
    const { parsed, errors } = parse(
      yaml('component: web', 'databases:', '  __proto__:', '    tables:', '      t: [select]'),
    );
    expect(parsed).toBeUndefined();
    expect(errors).toEqual([
      error(
        3,
        3,
        'invalid value "__proto__": database kind must be lowercase letters, digits and _, starting with a letter',
      ),
    ]);
  });

  it('keeps a database kind named constructor', () => {
    const { parsed, errors } = parse(
      yaml('component: web', 'databases:', '  constructor:', '    tables:', '      t: [select]'),
    );
    expect(errors).toEqual([]);
    expect(parsed?.policy.databases.map((db) => db.kind)).toEqual(['constructor']);
  });

  it('refuses __proto__ as a verb of the column form, and as a top-level key', () => {
    const { errors } = parse(
      yaml(
        'component: web',
        '__proto__: x',
        'databases:',
        '  main:',
        '    tables:',
        '      t:',
        '        __proto__: [a]',
      ),
    );
    expect(errors).toEqual([
      expect.objectContaining({ line: 2, col: 1, message: 'unknown key "__proto__"' }),
      expect.objectContaining({ line: 7, col: 9, message: 'unknown verb "__proto__"' }),
    ]);
  });
});
