/** Source-preserving edits, case by case: what each operation does to the text. */
import { describe, expect, it } from 'vitest';
import { parseKeyPath } from '../../src/base/keypath.js';
import { parseStateText, type StateDoc } from '../../src/yaml/document.js';
import { appendValue, deleteValue, getValue, mergeValue, setValue } from '../../src/yaml/edit.js';
import { retypedByYaml11 } from '../../src/yaml/yaml11.js';
import { verifyRoundTrip } from '../../src/yaml/verify.js';

// A realistic state file: comments everywhere, blank lines, mixed quoting, a bare timestamp, a flow map.
const CURRENT_WORK = `# Current work (edited by hand and by tools)
active_issue: AAP-12345   # the one in focus

active_issues:
  # newest first
  - key: AAP-12345
    summary: "Fix the login redirect"
    branch: 'feature/AAP-12345-login'
    status: In Progress
    started: 2026-01-21 15:54:19
    notes: |
      Reproduced on staging.
      Needs a backend change.

  - key: AAP-12001
    summary: Old ticket
    status: Review

active_branches:
  - {name: feature/AAP-12345-login, issue: AAP-12345}

last_updated: "2026-01-21T15:54:19Z"  # set by the session builder
`;

function edit(text: string, fn: (state: StateDoc) => void, path = 'current_work.yaml'): string {
  const state = parseStateText(text, path);
  fn(state);
  verifyRoundTrip(path, Buffer.from(state.text), state.value);
  expect(state.rerendered).toBe(0);
  return state.text;
}

/** The lines that differ, as [removed, added]. */
function lineDiff(before: string, after: string): [string[], string[]] {
  const a = before.split('\n');
  const b = after.split('\n');
  return [a.filter((l) => !b.includes(l)), b.filter((l) => !a.includes(l))];
}

describe('YAML fidelity', () => {
  it('round-trips a file unchanged when nothing is edited', () => {
    expect(edit(CURRENT_WORK, () => undefined)).toBe(CURRENT_WORK);
  });

  it('set changes only the edited scalar, keeping its trailing comment and spacing', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issue'), 'AAP-12001'));
    expect(out).toBe(CURRENT_WORK.replace('active_issue: AAP-12345   # the one in focus', 'active_issue: AAP-12001   # the one in focus'));
  });

  it('set through a selector is a one-line diff', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[key=AAP-12001].status'), 'Done'));
    expect(lineDiff(CURRENT_WORK, out)).toEqual([['    status: Review'], ['    status: Done']]);
  });

  it('keeps the quoting of a string replaced by a string', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[0].summary'), 'Fix the redirect'));
    expect(out).toContain('    summary: "Fix the redirect"');
    const single = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[0].branch'), "it's"));
    expect(single).toContain("    branch: 'it''s'");
  });

  it('append adds a block item in the list’s indentation and leaves the rest alone', () => {
    const out = edit(CURRENT_WORK, (s) => appendValue(s, parseKeyPath('active_issues'), { key: 'AAP-2', status: 'Open' }));
    expect(out).toBe(CURRENT_WORK.replace('    status: Review\n', '    status: Review\n  - key: AAP-2\n    status: Open\n'));
  });

  it('a new item in a list of flow maps is a flow map', () => {
    const out = edit(CURRENT_WORK, (s) => appendValue(s, parseKeyPath('active_branches'), { name: 'b2', issue: 'AAP-2' }));
    expect(out).toContain('  - {name: feature/AAP-12345-login, issue: AAP-12345}\n  - {name: b2, issue: AAP-2}\n');
  });

  it("PyYAML's indentless lists get indentless items (the issue's first failure)", () => {
    const text = 'follow_ups:\n- task: a\n  priority: low\nnotes: x\n';
    expect(edit(text, (s) => appendValue(s, parseKeyPath('follow_ups'), { task: 'b' }))).toBe('follow_ups:\n- task: a\n  priority: low\n- task: b\nnotes: x\n');
  });

  it("a new string item does not run into the one before (the issue's second failure)", () => {
    const text = 'tags:\n- one\n- two\nx: 1\n';
    const state = parseStateText(text, 'notes/t.yaml');
    appendValue(state, parseKeyPath('tags'), 'three');
    expect(state.text).toBe('tags:\n- one\n- two\n- three\nx: 1\n');
    expect(getValue(state, parseKeyPath('tags'))).toEqual(['one', 'two', 'three']);
  });

  it('a value inside a PyYAML list of records is a one-line diff, not the whole list', () => {
    const text = "open_mrs:\n- id: 1287\n  pipeline: running\n  status: open\n  title: 'AAP-1: fix'\n- id: 1290\n  status: draft\n";
    const out = edit(text, (s) => setValue(s, parseKeyPath('open_mrs[0].status'), 'merged'));
    expect(lineDiff(text, out)).toEqual([['  status: open'], ['  status: merged']]);
  });

  it('quotes strings a YAML 1.1 reader would retype', () => {
    const out = edit('a: 1\n', (s) => setValue(s, parseKeyPath('b'), { time: '20:38:05', flag: 'on', ok: 'yes', day: '2026-12-02', mode: '0777', n: '1_000', inf: '.inf', t: '~' }));
    expect(out).toBe(`a: 1\nb:\n  time: "20:38:05"\n  flag: "on"\n  ok: "yes"\n  day: "2026-12-02"\n  mode: "0777"\n  "n": "1_000"\n  inf: ".inf"\n  t: "~"\n`);
    for (const s of ['20:38:05', 'on', 'off', 'yes', 'no', 'y', 'n', '2026-12-02', '2026-01-21 15:54:19', '0777', '1_000', '.inf', '~', '0x1F', '1:30']) expect(retypedByYaml11(s), s).toBe(true);
    for (const s of ['In Progress', 'AAP-1', 'aap-12345-login', '3f2a1bc', 'https://x.y/z']) expect(retypedByYaml11(s), s).toBe(false);
  });

  it("quotes in the file's own style: single quotes in PyYAML files", () => {
    const text = "entries:\n- time: '09:14:02'\n  action: start\n";
    expect(edit(text, (s) => appendValue(s, parseKeyPath('entries'), { time: '14:22:10', action: 'note' }))).toBe(`${text}- time: '14:22:10'\n  action: note\n`);
  });

  it('an untouched bare timestamp stays bare, and an untouched quoted one stays quoted', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[0].status'), 'Done'));
    expect(out).toContain('    started: 2026-01-21 15:54:19\n');
    expect(out).toContain('last_updated: "2026-01-21T15:54:19Z"');
  });

  it('writes exponent numbers so PyYAML reads a float', () => {
    expect(edit('a: 1\n', (s) => setValue(s, parseKeyPath('big'), 1e21))).toBe('a: 1\nbig: 1.0e+21\n');
  });

  it('escapes characters PyYAML reads differently', () => {
    expect(edit('a: 1\n', (s) => setValue(s, parseKeyPath('s'), 'a\u2028b\u0085c'))).toBe('a: 1\ns: "a\\u2028b\\u0085c"\n');
  });

  it('append to an empty flow list turns it into a block list', () => {
    expect(edit('items: []\n', (s) => appendValue(s, parseKeyPath('items'), 'a'))).toBe('items:\n  - a\n');
    expect(edit('items: []\nother:\n- x\n', (s) => appendValue(s, parseKeyPath('items'), 'a'))).toBe('items:\n- a\nother:\n- x\n');
  });

  it('delete removes only the selected item', () => {
    const out = edit(CURRENT_WORK, (s) => deleteValue(s, parseKeyPath('active_issues[key=AAP-12001]')));
    expect(out).toBe(CURRENT_WORK.replace('  - key: AAP-12001\n    summary: Old ticket\n    status: Review\n', ''));
  });

  it('deleting the last entry of a map leaves an empty map, not null', () => {
    expect(edit('a:\n  b: 1\nc: 2\n', (s) => deleteValue(s, parseKeyPath('a.b')))).toBe('a: {}\nc: 2\n');
    expect(edit('l:\n- x\nc: 2\n', (s) => deleteValue(s, parseKeyPath('l[0]')))).toBe('l: []\nc: 2\n');
  });

  it('deleting the first field of a record moves the next one up to the dash', () => {
    expect(edit('l:\n- k: 1\n  j: 2\n', (s) => deleteValue(s, parseKeyPath('l[0].k')))).toBe('l:\n- j: 2\n');
  });

  it('merge deep-merges maps and keeps sibling comments', () => {
    const text = 'dev:  # the shared one\n  namespace: dev-ns\n  deployed_apps:\n    - {name: api, image: api:1}\nprod:\n  namespace: prod\n';
    const out = edit(text, (s) => mergeValue(s, parseKeyPath('dev'), { namespace: 'dev-2', last_deploy: '2026-11-24T10:00:00Z' }));
    expect(out).toBe('dev:  # the shared one\n  namespace: dev-2\n  deployed_apps:\n    - {name: api, image: api:1}\n  last_deploy: "2026-11-24T10:00:00Z"\nprod:\n  namespace: prod\n');
  });

  it('a scalar becoming a map is rendered alone, in the block’s style', () => {
    const text = 'a: x  # note\nl:\n- y\nb: 2\n';
    expect(edit(text, (s) => setValue(s, parseKeyPath('a'), { m: [1, 2] }))).toBe('a:  # note\n  m:\n  - 1\n  - 2\nl:\n- y\nb: 2\n');
    expect(edit('a:\n  m: 1\nb: 2\n', (s) => setValue(s, parseKeyPath('a'), 'plain'))).toBe('a: plain\nb: 2\n');
  });

  it('a block scalar replaced by a multi-line string stays a block scalar', () => {
    expect(edit('s: |\n  one\n  two\nt: 1\n', (s) => setValue(s, parseKeyPath('s'), 'three\nfour\n'))).toBe('s: |\n  three\n  four\nt: 1\n');
  });

  it('set creates missing map levels', () => {
    expect(edit('# knowledge\n', (s) => setValue(s, parseKeyPath('ci.runner.os'), 'linux'))).toBe('# knowledge\n\nci:\n  runner:\n    os: linux\n');
  });

  it('keeps CRLF line endings and a byte-order mark', () => {
    const text = '\ufeffa: 1\r\nb:\r\n- x\r\n';
    expect(edit(text, (s) => appendValue(s, parseKeyPath('b'), 'y'))).toBe('\ufeffa: 1\r\nb:\r\n- x\r\n- "y"\r\n');
    expect(edit(text, (s) => setValue(s, parseKeyPath('c'), { d: 1 }))).toBe('\ufeffa: 1\r\nb:\r\n- x\r\nc:\r\n  d: 1\r\n');
  });

  it('a file whose last key was deleted takes block lines again for the next key', () => {
    const emptied = edit('a: 1\n', (s) => deleteValue(s, parseKeyPath('a')), 'notes/f.yaml');
    expect(emptied).toBe('{}\n');
    expect(edit(emptied, (s) => setValue(s, parseKeyPath('w'), 1), 'notes/f.yaml')).toBe('w: 1\n');
    expect(edit('# notes\n{}\n', (s) => setValue(s, parseKeyPath('w.x'), [1]), 'notes/f.yaml')).toBe('# notes\nw:\n  x:\n    - 1\n');
    // a flow map with entries stays one
    expect(edit('{a: 1}\n', (s) => setValue(s, parseKeyPath('b'), 2), 'notes/f.yaml')).toBe('{a: 1, b: 2}\n');
  });

  it('a file without a final newline gets one before a new line, nothing else', () => {
    expect(edit('a: 1\nl:\n- x', (s) => appendValue(s, parseKeyPath('l'), 'z'))).toBe('a: 1\nl:\n- x\n- z\n');
  });

  it('an anchor or tag before a replaced value goes with it', () => {
    expect(edit('a: !!str 1\nb: &x\n  c: 1\nd: 2\n', (s) => setValue(s, parseKeyPath('a'), 5))).toBe('a: 5\nb: &x\n  c: 1\nd: 2\n');
    expect(edit('a: !!str 1\nb: &x\n  c: 1\nd: 2\n', (s) => setValue(s, parseKeyPath('b'), 'z'))).toBe('a: !!str 1\nb: z\nd: 2\n');
    expect(edit('l:\n- &i 1\n- 2\n', (s) => setValue(s, parseKeyPath('l[0]'), { k: 'v' }))).toBe('l:\n- k: v\n- 2\n');
  });

  it('refuses to change what an alias repeats, or remove an anchor an alias uses', () => {
    const text = 'base: &b {x: 1}\nother: *b\n';
    const state = parseStateText(text, 'n.yaml');
    expect(getValue(state, parseKeyPath('other.x'))).toBe(1);
    expect(() => setValue(state, parseKeyPath('base.x'), 2)).toThrow(/anchor &b/);
    expect(() => deleteValue(state, parseKeyPath('base'))).toThrow(/anchor &b/);
    expect(state.text).toBe(text);
    setValue(state, parseKeyPath('other'), 'own');
    expect(state.text).toBe('base: &b {x: 1}\nother: own\n');
  });

  it('refuses an append whose identity is already in the list, with a hint', () => {
    const state = parseStateText('active_issues:\n- key: AAP-1\n  status: Open\n', 'current_work.yaml');
    let error: Error & { exitCode?: number } = new Error('none');
    try {
      appendValue(state, parseKeyPath('active_issues'), { key: 'AAP-1', status: 'Done' });
    } catch (err) {
      error = err as Error;
    }
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/already has an item with key=AAP-1; to change it, use "gitstate set current_work.yaml 'active_issues\[key=AAP-1\]\.FIELD' VALUE"/);
    appendValue(state, parseKeyPath('active_issues'), { key: 'AAP-2' });
    expect(() => appendValue(state, parseKeyPath('active_issues'), { id: 'x', name: 'n' }, 'name')).not.toThrow();
    expect(() => appendValue(state, parseKeyPath('active_issues'), { name: 'n' }, 'name')).toThrow(/name=n/);
  });
});

describe('JSON fidelity', () => {
  const cases: Array<[string, string, string]> = [
    ['indent 2', '{\n  "a": {\n    "b": 1\n  }\n}\n', '{\n  "a": {\n    "b": 1,\n    "c": [\n      1,\n      2\n    ]\n  }\n}\n'],
    ['indent 4', '{\n    "a": {\n        "b": 1\n    }\n}\n', '{\n    "a": {\n        "b": 1,\n        "c": [\n            1,\n            2\n        ]\n    }\n}\n'],
    ['tab', '{\n\t"a": {\n\t\t"b": 1\n\t}\n}\n', '{\n\t"a": {\n\t\t"b": 1,\n\t\t"c": [\n\t\t\t1,\n\t\t\t2\n\t\t]\n\t}\n}\n'],
    ['one line, Python', '{"a": {"b": 1}}', '{"a": {"b": 1, "c": [1, 2]}}'],
    ['one line, compact', '{"a":{"b":1}}\n', '{"a":{"b":1,"c":[1,2]}}\n'],
  ];
  for (const [name, before, after] of cases) {
    it(`keeps the layout: ${name}`, () => {
      expect(edit(before, (s) => setValue(s, parseKeyPath('a.c'), [1, 2]), 'state.json')).toBe(after);
    });
  }

  it('keeps key order, and a one-value edit is a one-line diff', () => {
    const text = '{\n  "zeta": 1,\n  "alpha": {\n    "x": "old"\n  },\n  "mid": true\n}\n';
    const out = edit(text, (s) => setValue(s, parseKeyPath('alpha.x'), 'new'), 'state.json');
    expect(lineDiff(text, out)).toEqual([['    "x": "old"'], ['    "x": "new"']]);
  });

  it('refuses a value JSON cannot hold', () => {
    const state = parseStateText('{}\n', 'state.json');
    expect(() => setValue(state, parseKeyPath('x'), Number.NaN)).toThrow(/JSON cannot hold NaN/);
  });
});
