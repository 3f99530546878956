import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_IDS, CONTEXT_KEYS, PALETTE_WHEN, commandLink } from '../../src/extension/commandIds';

const ROOT = path.join(__dirname, '..', '..', '..');

interface Manifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus?: Record<string, { command?: string; when?: string }[]>;
  };
}

describe('extension/commandIds: the CommandId union and package.json', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const contributed = manifest.contributes.commands.map((c) => c.command);

  it('contributes.commands lists exactly the ids of CommandId', () => {
    assert.deepEqual([...contributed].sort(), [...COMMAND_IDS].sort());
  });

  it('lists each id once, in both places', () => {
    assert.equal(new Set(contributed).size, contributed.length, 'a command contributed twice');
    assert.equal(new Set(COMMAND_IDS).size, COMMAND_IDS.length, 'an id listed twice in COMMAND_IDS');
  });

  it('every menu entry names a contributed command', () => {
    const known = new Set<string>(COMMAND_IDS);
    for (const [menu, entries] of Object.entries(manifest.contributes.menus ?? {})) {
      for (const e of entries) if (e.command) assert.ok(known.has(e.command), `${menu} names ${e.command}`);
    }
  });

  it('every command is carbonMeter.<verb><Noun> in the "Carbon Meter" category, with a localised title', () => {
    const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
    for (const c of manifest.contributes.commands) {
      assert.match(c.command, /^carbonMeter\.[a-z]+[A-Z][A-Za-z]*$/);
      assert.equal(c.category, 'Carbon Meter', c.command);
      const key = /^%(.+)%$/.exec(c.title)?.[1];
      assert.ok(
        key && typeof nls[key] === 'string' && nls[key].length > 0,
        `${c.command}: title ${c.title} is not in package.nls.json`,
      );
    }
  });

  it('commandLink encodes its arguments as VS Code reads them', () => {
    assert.equal(commandLink('carbonMeter.showHistory'), 'command:carbonMeter.showHistory');
    const link = commandLink('carbonMeter.showRun', 'run 1/2');
    assert.equal(link, `command:carbonMeter.showRun?${encodeURIComponent('["run 1/2"]')}`);
    assert.deepEqual(JSON.parse(decodeURIComponent(link.split('?')[1])), ['run 1/2']);
  });
});

describe('extension/commandIds: palette entries that apply only sometimes', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const palette = manifest.contributes.menus?.commandPalette ?? [];

  it('Stop Metering, Cancel Scheduled Run and Run Scheduled Run Now are shown only under the keys the extension sets', () => {
    for (const [command, key] of Object.entries(PALETTE_WHEN)) {
      const entries = palette.filter((e) => e.command === command);
      assert.equal(entries.length, 1, `${command} in the commandPalette menu once`);
      assert.equal(entries[0].when, key, command);
    }
    assert.deepEqual(Object.keys(PALETTE_WHEN).sort(), [
      'carbonMeter.cancelScheduledRun',
      'carbonMeter.runScheduledNow',
      'carbonMeter.stopMetering',
    ]);
    for (const key of Object.values(CONTEXT_KEYS)) assert.match(key, /^carbonMeter\.[a-zA-Z]+$/);
  });

  it('the walkthrough steps use the inline code VS Code renders there (double backticks), never a single one', () => {
    const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
    for (const [k, v] of Object.entries(nls).filter(([k]) => k.startsWith('walkthrough.'))) {
      assert.doesNotMatch(v.replace(/``[^`]+``/g, ''), /`/, k);
    }
    assert.match(nls['walkthrough.run.description'], /``python train\.py``/);
  });
});
