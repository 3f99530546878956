import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLOUD_REGION_ROWS } from '../../src/core/intensity/cloudRegions.generated';
import { CLOUD_SOURCES, resolveRegion } from '../../src/core/intensity/regions';

const csvPath = path.resolve(__dirname, '../../../data/cloud-regions.csv');

/** A small CSV reader written independently of scripts/gen-regions.mjs: quoted fields, "" escapes. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        fields.push(field);
        field = '';
      } else field += ch;
    }
    fields.push(field);
    rows.push(fields);
  }
  return rows;
}

describe('intensity/cloudRegions: generated module vs data/cloud-regions.csv', () => {
  const [header, ...rows] = readCsv(fs.readFileSync(csvPath, 'utf8'));
  const col = (name: string) => {
    const i = header.indexOf(name);
    assert.ok(i >= 0, `column ${name} missing`);
    return i;
  };

  it('keeps the source columns of the shared table, plus country', () => {
    assert.deepEqual(header, [
      'provider',
      'region',
      'location',
      'grid_gco2e_per_kwh',
      'provider_cfe',
      'pue',
      'year',
      'source',
      'country',
    ]);
  });

  it('cloudRegions.generated.ts equals the parsed CSV, row for row (run scripts/gen-regions.mjs after editing the CSV)', () => {
    const expected = rows.map((f) => {
      const row: Record<string, unknown> = {
        provider: f[col('provider')],
        region: f[col('region')],
        location: f[col('location')],
        gridGCO2ePerKWh: Number(f[col('grid_gco2e_per_kwh')]),
        pue: Number(f[col('pue')]),
        year: Number(f[col('year')]),
        source: f[col('source')],
        country: f[col('country')],
      };
      if (f[col('provider_cfe')] !== '') row.providerCfe = Number(f[col('provider_cfe')]);
      return row;
    });
    assert.deepEqual(
      CLOUD_REGION_ROWS.map((r) => ({ ...r })),
      expected,
    );
  });

  it('every row resolves to a region carrying its figures', () => {
    for (const row of CLOUD_REGION_ROWS) {
      const r = resolveRegion(`${row.provider}:${row.region}`);
      assert.equal(r.intensityGPerKWh, row.gridGCO2ePerKWh);
      assert.equal(r.pue, row.pue);
      assert.equal(r.year, row.year);
      assert.equal(r.cfe, row.providerCfe);
      assert.equal(r.countryAlpha2, row.country);
      assert.equal(r.location, row.location);
    }
  });

  it('every source id is described in words', () => {
    for (const row of CLOUD_REGION_ROWS) assert.ok(CLOUD_SOURCES[row.source], `no description for ${row.source}`);
  });

  it('values are in range: intensity ≥ 0, PUE 1–2, CFE 0–1 (Google rows only)', () => {
    for (const row of CLOUD_REGION_ROWS) {
      assert.ok(row.gridGCO2ePerKWh >= 0 && row.gridGCO2ePerKWh < 1500, row.region);
      assert.ok(row.pue >= 1 && row.pue < 2, row.region);
      if (row.providerCfe !== undefined) {
        assert.equal(row.provider, 'gcp');
        assert.ok(row.providerCfe >= 0 && row.providerCfe <= 1);
      }
    }
  });
});
