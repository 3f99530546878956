import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CPU_TDP_ROW_COUNT, CPU_TDP_ROWS, CPU_TDP_SOURCE } from '../../src/core/power/cpuTdpTable.generated';
import {
  buildTdpIndex,
  cpuTdpRows,
  DEFAULT_W_PER_LOGICAL_CPU,
  lookupCpuTdp,
  matchCpuModel,
  modelTokens,
  normaliseCpuName,
} from '../../src/core/power/tdp';

const ROOT = path.join(__dirname, '..', '..', '..');
const CSV = path.join(ROOT, 'data', 'cpu_power.csv');

describe('power/tdp: the compiled table', () => {
  const csvText = fs.readFileSync(CSV, 'utf8');
  const csvRows = csvText
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0);

  it("data/cpu_power.csv is CodeCarbon's file: header, row shape, size", () => {
    assert.equal(csvText.split('\n')[0], 'Name,TDP');
    assert.equal(csvRows.length, 2161);
    for (const row of csvRows) assert.match(row, /^[^,]+,\d+$/, row);
    assert.ok(csvText.endsWith('\n'));
  });

  it('cpuTdpTable.generated.ts holds exactly the CSV rows, in order', () => {
    assert.equal(CPU_TDP_ROWS, csvRows.join('\n'));
    assert.equal(CPU_TDP_ROW_COUNT, csvRows.length);
    assert.match(CPU_TDP_SOURCE, /CodeCarbon/);
  });

  it('parses every row into a name and a positive TDP', () => {
    const rows = cpuTdpRows();
    assert.equal(rows.length, csvRows.length);
    assert.deepEqual(
      rows.slice(0, 3).map((r) => [r.name, r.tdpW]),
      [
        ['AMD A10-4600M', 35],
        ['AMD A10-4655M', 25],
        ['AMD A10-5700', 65],
      ],
    );
    assert.deepEqual([rows.at(-1)!.name, rows.at(-1)!.tdpW], ['Intel Xeon X5687', 130]);
    for (const r of rows) assert.ok(r.tdpW > 0 && Number.isFinite(r.tdpW), r.name);
  });

  it('scripts/gen-cpu-tdp.mjs --check agrees that the TS file matches the CSV', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'gen-cpu-tdp.mjs'), '--check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /matches/);
  });

  it('the generator refuses a malformed CSV', () => {
    const script = path.join(ROOT, 'scripts', 'gen-cpu-tdp.mjs');
    const code = `import(${JSON.stringify(`file://${script}`)}).then((m) => { try { m.generate('Name,TDP\\nAMD EPYC 7763\\n'); console.log('accepted'); } catch (e) { console.log('refused: ' + e.message); } })`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^refused: .*not a "Name,TDP" row/);
  });
});

describe('power/tdp: name normalisation', () => {
  const cases: [string, string][] = [
    ['Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', 'intel xeon platinum 8375c'],
    ['AMD EPYC 7763 64-Core Processor', 'amd epyc 7763'],
    ['Intel(R) Core(TM) i7-10700K CPU @ 3.80GHz', 'intel core i7-10700k'],
    ['Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz', 'intel xeon e5-2680 v4'],
    ['AMD Ryzen 7 5800H with Radeon Graphics', 'amd ryzen 7 5800h'],
    ['AMD Ryzen 5 2400G with Radeon Vega Graphics', 'amd ryzen 5 2400g'],
    ['AMD A10-7850K Radeon R7, 12 Compute Cores 4C+8G', 'amd a10-7850k'],
    ['Intel(R) Core(TM)2 Duo CPU     E8400  @ 3.00GHz', 'intel core 2 duo e8400'],
    ['AMD Ryzen Threadripper 3990X 64-Core Processor', 'amd ryzen threadripper 3990x'],
    ['AMD Phenom(tm) II X4 965 Processor', 'amd phenom ii x4 965'],
    ['AMD Athlon(tm) II X2 250 Processor', 'amd athlon ii x2 250'],
    ['Intel(R) Pentium(R) 4 CPU 3.00GHz', 'intel pentium 4'],
    ['AMD EPYC', 'amd epyc'],
    ['  Apple   M2 Pro ', 'apple m2 pro'],
    ['AMD Phenom II X4 945 (95W)', 'amd phenom ii x4 945'],
  ];
  for (const [raw, want] of cases) it(`"${raw}" → "${want}"`, () => assert.equal(normaliseCpuName(raw), want));

  it('model tokens are the words with a digit, not generations, core counts or clocks', () => {
    assert.deepEqual(modelTokens('11th gen intel core i7-1165g7'), ['i7-1165g7']);
    assert.deepEqual(modelTokens('intel xeon e5-2680 v4'), ['e5-2680', 'v4']);
    assert.deepEqual(modelTokens('amd ryzen 9 5950x 16-core 3.4ghz'), ['9', '5950x']);
    assert.deepEqual(modelTokens('amd epyc'), []);
  });
});

describe('power/tdp: lookupCpuTdp', () => {
  const modelled: [string, number, string][] = [
    ['AMD EPYC 7763 64-Core Processor', 280, 'AMD EPYC 7763'],
    ['Intel(R) Core(TM) i7-10700K CPU @ 3.80GHz', 125, 'Intel Core i7-10700K'],
    ['Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz', 210, 'Intel Xeon Platinum 8259CL'],
    ['Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz', 120, 'Intel Xeon E5-2680 v4'],
    ['Intel(R) Xeon(R) Gold 6154 CPU @ 3.00GHz', 200, 'Intel Xeon Gold 6154'],
    ['AMD Ryzen 9 5950X 16-Core Processor', 105, 'AMD Ryzen 9 5950X'],
    ['AMD Ryzen 7 5800H with Radeon Graphics', 54, 'AMD Ryzen 7 5800H'],
    ['AMD Ryzen Threadripper PRO 3995WX 64-Cores', 280, 'AMD Ryzen Threadripper PRO 3995WX'],
    ['AMD EPYC 7B12', 240, 'AMD EPYC 7B12'],
    ['Apple M1', 10, 'Apple M1'],
    ['Intel(R) Core(TM)2 Quad CPU    Q9650  @ 3.00GHz', 95, 'Intel Core 2 Quad Q9650'],
  ];
  for (const [raw, tdp, model] of modelled) {
    it(`"${raw}" → ${tdp} W (${model})`, () => {
      const r = lookupCpuTdp(raw, 16);
      assert.equal(r.method, 'modelled');
      assert.equal(r.tdpW, tdp);
      assert.equal(r.matchedModel, model);
      assert.equal(r.source, CPU_TDP_SOURCE);
      assert.match(
        r.detail,
        new RegExp(`^TDP ${tdp} W \\(${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, CodeCarbon cpu_power.csv`),
      );
    });
  }

  it('matches by model number when the words around it are filler ("11th Gen")', () => {
    const r = lookupCpuTdp('11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz', 8);
    assert.equal(r.method, 'modelled');
    assert.equal(r.tdpW, 28);
    assert.equal(r.matchedModel, 'Intel Core i7-1165G7');
    assert.equal(r.matchedBy, 'tokens');
    assert.match(r.detail, /matched "11th Gen Intel\(R\) Core\(TM\) i7-1165G7 @ 2\.80GHz" by model number/);
  });

  it('"12th Gen" names match too', () => {
    const r = lookupCpuTdp('12th Gen Intel(R) Core(TM) i7-1270P', 16);
    assert.equal(r.tdpW, 64);
    assert.equal(r.matchedModel, 'Intel Core i7-1270P');
  });

  it('this machine\'s "AMD EPYC" (no model number) gets CodeCarbon\'s 4 W per logical CPU', () => {
    const r = lookupCpuTdp('AMD EPYC', 2);
    assert.equal(r.method, 'default');
    assert.equal(r.tdpW, 8);
    assert.equal(r.matchedModel, undefined);
    assert.match(
      r.detail,
      /"AMD EPYC" is not in CodeCarbon's CPU table \(the name has no model number\): 4 W × 2 logical CPUs = 8 W \(CodeCarbon's fallback\)/,
    );
    assert.match(r.source, /4 W per logical CPU/);
  });

  it('a model missing from the table is not matched to a neighbour (Xeon Platinum 8375C)', () => {
    const r = lookupCpuTdp('Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', 64);
    assert.equal(r.method, 'default');
    assert.equal(r.tdpW, DEFAULT_W_PER_LOGICAL_CPU * 64);
    assert.match(r.detail, /no model with this model number/);
  });

  it('Apple M2 Pro does not borrow the Apple M1 figure, nor M1 Pro', () => {
    assert.equal(lookupCpuTdp('Apple M2 Pro', 12).method, 'default');
    assert.equal(lookupCpuTdp('Apple M2 Pro', 12).tdpW, 48);
    const m1pro = matchCpuModel('Apple M1 Pro');
    assert.equal(m1pro.kind, 'none');
  });

  it('virtual CPUs get the fallback', () => {
    for (const name of [
      'QEMU Virtual CPU version 2.5+',
      'Common KVM processor',
      'Intel(R) Xeon(R) CPU @ 2.20GHz',
      'unknown CPU',
      '',
    ]) {
      const r = lookupCpuTdp(name, 4);
      assert.equal(r.method, 'default', name);
      assert.equal(r.tdpW, 16, name);
    }
  });

  it('the same model number in another family is not a match (Ryzen 5 3600 is not Ryzen 7 3600)', () => {
    assert.equal(lookupCpuTdp('AMD Ryzen 5 3600 6-Core Processor', 12).tdpW, 65);
    assert.equal(matchCpuModel('AMD Ryzen 7 3600').kind, 'none');
    assert.equal(matchCpuModel('Intel Xeon E5-2680 v3').kind, 'none'); // only v2 and v4 are in the table
  });

  it('a model whose variants have different TDPs is ambiguous and falls back', () => {
    // the table has "Intel Core 2 Quad Q6600 (105W)" and "(95W)"
    const m = matchCpuModel('Intel(R) Core(TM)2 Quad CPU    Q6600  @ 2.40GHz');
    assert.equal(m.kind, 'ambiguous');
    const r = lookupCpuTdp('Intel(R) Core(TM)2 Quad CPU    Q6600  @ 2.40GHz', 4);
    assert.equal(r.method, 'default');
    assert.match(
      r.detail,
      /matches several models with different TDPs \(Intel Core 2 Quad Q6600 \(105W\) 105 W, Intel Core 2 Quad Q6600 \(95W\) 95 W\)/,
    );
  });

  it('the first row of a repeated name wins, as in CodeCarbon', () => {
    // "AMD Athlon 64 3000+" appears ten times, first with 89 W
    assert.equal(lookupCpuTdp('AMD Athlon(tm) 64 Processor 3000+', 1).tdpW, 89);
  });

  it('multiplies a table TDP by the number of sockets', () => {
    const r = lookupCpuTdp('AMD EPYC 7763 64-Core Processor', 256, { sockets: 2 });
    assert.equal(r.tdpW, 560);
    assert.match(r.detail, /^TDP 280 W × 2 sockets = 560 W \(AMD EPYC 7763/);
    // the per-logical-CPU fallback already counts every socket
    assert.equal(lookupCpuTdp('AMD EPYC', 256, { sockets: 2 }).tdpW, 1024);
  });

  it('treats a nonsensical CPU count as one', () => {
    assert.equal(lookupCpuTdp('AMD EPYC', 0).tdpW, 4);
    assert.equal(lookupCpuTdp('AMD EPYC', Number.NaN).tdpW, 4);
    assert.match(lookupCpuTdp('AMD EPYC', 1).detail, /4 W × 1 logical CPU = 4 W/);
  });

  it('caches lookups, and a caller cannot change the cached answer', () => {
    const a = lookupCpuTdp('AMD EPYC 7763 64-Core Processor', 128);
    a.tdpW = 1;
    const b = lookupCpuTdp('AMD EPYC 7763 64-Core Processor', 128);
    assert.equal(b.tdpW, 280);
  });

  it('every name of the table finds itself (or is reported ambiguous with its look-alikes)', () => {
    const idx = buildTdpIndex(CPU_TDP_ROWS);
    const firstByName = new Map<string, number>();
    for (const r of idx.rows) if (!firstByName.has(r.name)) firstByName.set(r.name, r.tdpW);
    let exact = 0;
    let ambiguous = 0;
    for (const [name, tdpW] of firstByName) {
      const m = matchCpuModel(name, idx);
      if (m.kind === 'exact') {
        exact++;
        assert.equal(m.row.tdpW, tdpW, name);
      } else {
        assert.equal(m.kind, 'ambiguous', name);
        if (m.kind === 'ambiguous')
          assert.ok(
            m.candidates.some((c) => c.name === name),
            name,
          );
        ambiguous++;
      }
    }
    assert.equal(exact + ambiguous, 1886);
    assert.ok(ambiguous < 20, `${ambiguous} ambiguous names`);
  });

  it('the lookup of one model (a search of the table normalised when generated) answers as the whole index does', () => {
    const idx = buildTdpIndex(CPU_TDP_ROWS);
    const names = [...new Set(idx.rows.map((r) => r.name))];
    // as /proc/cpuinfo and the OS write them: marks, clocks, core counts, generations, another family's words
    const dressed = (n: string, i: number): string =>
      [
        n,
        `${n
          .replace(/^Intel /, 'Intel(R) ')
          .replace(/ Xeon /, ' Xeon(R) ')
          .replace(/ Core /, ' Core(TM) ')} CPU @ 2.40GHz`,
        `${n} ${8 + (i % 56)}-Core Processor`,
        n.replace(/^Intel Core /, '11th Gen Intel(R) Core(TM) '),
        n.replace(/^AMD Ryzen \d/, 'AMD Ryzen 9').replace(/ Xeon Gold /, ' Xeon Silver '),
        n.split(' ').slice(0, 2).join(' '),
      ][i % 6]!;
    const queries = [
      ...names.map(dressed),
      'AMD EPYC',
      'AMD EPYC 7763 64-Core Processor',
      'Intel(R) Core(TM)2 Quad CPU    Q6600  @ 2.40GHz',
      'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz',
      'Apple M2 Pro',
      'QEMU Virtual CPU version 2.5+',
      '',
      '   ',
    ];
    let matched = 0;
    for (const q of queries) {
      const whole = matchCpuModel(q, idx);
      assert.deepEqual(matchCpuModel(q), whole, q);
      if (whole.kind === 'exact' || whole.kind === 'tokens') matched++;
    }
    assert.ok(matched > 1000, `${matched} of ${queries.length} matched`);
  });
});
