/**
 * The Settings editor titles a setting from its key ("carbonMeter.pue" → "Pue"): VS Code has no property-level title
 * for extensions (`title` on a setting is internal to VS Code's own settings model, not read from a manifest), so the
 * description starts with the full name, right under that title.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const read = (f: string): unknown => JSON.parse(fs.readFileSync(path.join(root, f), 'utf8'));

describe('carbonMeter.pue in the Settings editor (package.json, package.nls.json)', () => {
  it('its description starts with "Power usage effectiveness (PUE)", in bold', () => {
    const manifest = read('package.json') as {
      contributes: { configuration: { properties: Record<string, { markdownDescription?: string }> }[] };
    };
    const nls = read('package.nls.json') as Record<string, string>;
    const prop = manifest.contributes.configuration
      .map((c) => c.properties['carbonMeter.pue'])
      .find((p) => p !== undefined);
    assert.ok(prop?.markdownDescription, 'carbonMeter.pue has a markdownDescription');
    const key = /^%(.+)%$/.exec(prop.markdownDescription)?.[1];
    const text = key ? nls[key] : prop.markdownDescription;
    assert.ok(text, `package.nls.json has ${key}`);
    assert.ok(text.startsWith('**Power usage effectiveness (PUE)**'), text);
  });
});
