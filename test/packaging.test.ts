/**
 * Packaging: the licence package.json names is there, and `npm install` has no
 * install script of ours that would make npm rewrite package-lock.json
 * (`hasInstallScript`) and leave a fresh checkout dirty.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/repo.js';

const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

describe('packaging', () => {
  it('LICENSE is the MIT licence package.json declares', () => {
    expect(json('package.json').license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 /);
  });

  it('no install scripts: package-lock.json stays as committed after npm install', () => {
    const scripts = json('package.json').scripts as Record<string, string>;
    for (const name of ['preinstall', 'install', 'postinstall']) expect(scripts[name], name).toBeUndefined();
    const lock = json('package-lock.json');
    expect(lock.packages[''].hasInstallScript).toBeUndefined();
    expect(lock.packages[''].license).toBe('MIT');
  });
});
