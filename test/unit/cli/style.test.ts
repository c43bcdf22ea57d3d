/** Output that reads well (issue 15, point 13): colour and --quiet on the text the commands print. */
import { describe, expect, it } from 'vitest';
import { colourText, paint, quietText, useColour } from '../../../src/cli/style.js';

const PLAN = `target main (PostgreSQL 15.18, database shop)
  component api
    + create login shop_api
    ~ adopt role shop_api_role
    - revoke UPDATE on table public.items from role shop_api_role

Plan: 1 to add, 1 to change, 1 to remove, on 1 of 1 target.
`;

const VERIFY = `ok    api on main: privileges equal the policy
FAIL  worker on main
        missing SELECT on table public.items
        extra   DELETE on table public.items
ok    reporter: no database access, and login shop_reporter cannot log in

Verify: 1 of 3 components differs from its policy.
  "dbwarden plan" shows what apply would fix; privileges that reach a login through PUBLIC or through roles dbwarden does not manage must be revoked by hand.
`;

describe('useColour', () => {
  const env = (e: Record<string, string>) => e;
  it('follows the terminal unless told otherwise', () => {
    expect(useColour({ noColor: false, tty: true, env: {} })).toBe(true);
    expect(useColour({ noColor: false, tty: false, env: {} })).toBe(false);
  });
  it('--no-color and NO_COLOR turn it off, even with FORCE_COLOR', () => {
    expect(useColour({ noColor: true, tty: true, env: {} })).toBe(false);
    expect(useColour({ noColor: false, tty: true, env: env({ NO_COLOR: '1' }) })).toBe(false);
    expect(useColour({ noColor: false, tty: true, env: env({ NO_COLOR: '1', FORCE_COLOR: '1' }) })).toBe(
      false,
    );
  });
  it('an empty NO_COLOR is as if unset; FORCE_COLOR forces it off a terminal, FORCE_COLOR=0 turns it off', () => {
    expect(useColour({ noColor: false, tty: true, env: env({ NO_COLOR: '' }) })).toBe(true);
    expect(useColour({ noColor: false, tty: false, env: env({ FORCE_COLOR: '1' }) })).toBe(true);
    expect(useColour({ noColor: false, tty: true, env: env({ FORCE_COLOR: '0' }) })).toBe(false);
  });
});

describe('colourText', () => {
  it('colours plan lines by sign: + green, - red, ~ yellow; the verdict in bold', () => {
    const lines = colourText(PLAN).split('\n');
    expect(lines[2]).toBe(`    ${paint('green', '+ create login shop_api')}`);
    expect(lines[3]).toBe(`    ${paint('yellow', '~ adopt role shop_api_role')}`);
    expect(lines[4]).toBe(
      `    ${paint('red', '- revoke UPDATE on table public.items from role shop_api_role')}`,
    );
    expect(lines[6]).toBe(`${paint('bold', 'Plan:')} 1 to add, 1 to change, 1 to remove, on 1 of 1 target.`);
    expect(lines.slice(0, 2)).toEqual(PLAN.split('\n').slice(0, 2));
    expect(paint('green', 'x')).toBe('\u001b[32mx\u001b[39m');
  });

  it('colours verify: ok green, FAIL red, missing red, extra yellow', () => {
    const lines = colourText(VERIFY).split('\n');
    expect(lines[0]).toBe(`${paint('green', 'ok')}    api on main: privileges equal the policy`);
    expect(lines[1]).toBe(`${paint('red', 'FAIL')}  worker on main`);
    expect(lines[2]).toBe(`        ${paint('red', 'missing')} SELECT on table public.items`);
    expect(lines[3]).toBe(`        ${paint('yellow', 'extra')}   DELETE on table public.items`);
  });

  it('removing the colour gives the text back', () => {
    // eslint-disable-next-line no-control-regex
    const plain = (t: string) => t.replace(/\u001b\[\d+m/g, '');
    expect(plain(colourText(PLAN))).toBe(PLAN);
    expect(plain(colourText(VERIFY))).toBe(VERIFY);
  });
});

describe('quietText', () => {
  it('plan: only the verdict', () => {
    expect(quietText(PLAN)).toBe('Plan: 1 to add, 1 to change, 1 to remove, on 1 of 1 target.\n');
  });

  it('verify: the failures with their details, and the verdict with its hint', () => {
    expect(quietText(VERIFY)).toBe(
      [
        'FAIL  worker on main',
        '        missing SELECT on table public.items',
        '        extra   DELETE on table public.items',
        'Verify: 1 of 3 components differs from its policy.',
        '  "dbwarden plan" shows what apply would fix; privileges that reach a login through PUBLIC or through roles dbwarden does not manage must be revoked by hand.',
        '',
      ].join('\n'),
    );
  });

  it('nothing in, nothing out', () => {
    expect(quietText('')).toBe('');
  });
});
