import { describe, expect, it } from 'vitest';
import { parseKeyPath } from '../../src/base/keypath.js';
import { parseStateText, serialize } from '../../src/yaml/document.js';
import { render } from '../../src/yaml/preserve.js';
import { appendValue, deleteValue, getValue, mergeValue, setValue } from '../../src/yaml/edit.js';

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

function edit(text: string, fn: (state: ReturnType<typeof parseStateText>) => void): string {
  const state = parseStateText(text, 'current_work.yaml');
  state.rendered = serialize(state);
  fn(state);
  return render(state);
}

describe('YAML fidelity', () => {
  it('round-trips a file unchanged when nothing is edited', () => {
    expect(edit(CURRENT_WORK, () => undefined)).toBe(CURRENT_WORK);
  });

  it('set changes only the edited scalar, keeping its trailing comment', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issue'), 'AAP-12001'));
    expect(out).toBe(CURRENT_WORK.replace('active_issue: AAP-12345   # the one in focus', 'active_issue: AAP-12001 # the one in focus'));
    // only that line changed
  });

  it('set through a selector keeps every other line byte for byte', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[key=AAP-12001].status'), 'Done'));
    const before = CURRENT_WORK.split('\n');
    const after = out.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.filter((line, i) => line !== before[i]);
    expect(changed).toEqual(['    status: Done']);
  });

  it('keeps quoting style when a quoted string is replaced by a string', () => {
    const out = edit(CURRENT_WORK, (s) => setValue(s, parseKeyPath('active_issues[0].summary'), 'Fix the redirect'));
    expect(out).toContain('    summary: "Fix the redirect"');
    expect(out).toContain('last_updated: "2026-01-21T15:54:19Z"  # set by the session builder');
  });

  it('append adds a block item and leaves the rest alone', () => {
    const out = edit(CURRENT_WORK, (s) => appendValue(s, parseKeyPath('active_issues'), { key: 'AAP-2', status: 'Open' }));
    expect(out).toContain('  - key: AAP-2\n    status: Open\n');
    expect(out.replace('  - key: AAP-2\n    status: Open\n', '')).toBe(CURRENT_WORK);
  });

  it('append to an empty flow list turns it into a block list', () => {
    const out = edit('items: []\n', (s) => appendValue(s, parseKeyPath('items'), 'a'));
    expect(out).toBe('items:\n  - a\n');
  });

  it('delete removes only the selected item', () => {
    const out = edit(CURRENT_WORK, (s) => deleteValue(s, parseKeyPath('active_issues[key=AAP-12001]')));
    expect(out).not.toContain('AAP-12001');
    expect(out).toContain('# newest first');
    expect(out).toContain('# set by the session builder');
    expect(out).toContain('started: 2026-01-21 15:54:19');
  });

  it('merge deep-merges maps and keeps sibling comments', () => {
    const text = 'dev:  # the shared one\n  namespace: dev-ns\n  deployed_apps:\n    - {name: api, image: api:1}\nprod:\n  namespace: prod\n';
    const out = edit(text, (s) => mergeValue(s, parseKeyPath('dev'), { namespace: 'dev-2', last_deploy: '2026-11-24T10:00:00Z' }));
    expect(out).toBe(
      'dev:  # the shared one\n  namespace: dev-2\n  deployed_apps:\n    - {name: api, image: api:1}\n  last_deploy: 2026-11-24T10:00:00Z\nprod:\n  namespace: prod\n',
    );
  });

  it('set creates missing map levels', () => {
    const out = edit('# knowledge\n', (s) => setValue(s, parseKeyPath('ci.runner.os'), 'linux'));
    expect(out).toBe('# knowledge\n\nci:\n  runner:\n    os: linux\n');
  });

  it('get reads through aliases and returns plain data', () => {
    const state = parseStateText('base: &b {x: 1}\nother: *b\n', 'n.yaml');
    expect(getValue(state, parseKeyPath('other.x'))).toBe(1);
    expect(getValue(state, [])).toEqual({ base: { x: 1 }, other: { x: 1 } });
  });

  it('JSON files stay JSON', () => {
    const state = parseStateText('{"a": {"b": 1}}', 'state.json');
    setValue(state, parseKeyPath('a.c'), [1, 2]);
    expect(JSON.parse(serialize(state))).toEqual({ a: { b: 1, c: [1, 2] } });
    expect(serialize(state)).toBe('{\n  "a": {\n    "b": 1,\n    "c": [\n      1,\n      2\n    ]\n  }\n}\n');
  });
});
