import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CODECARBON_COLUMNS,
  CODECARBON_IMPORT_SOURCE,
  CODECARBON_V2_COLUMNS,
  codeCarbonHeader,
  codeCarbonRow,
  importedRunLine,
  importedRunLineBytes,
  parseCodeCarbonCsv,
  runsToCodeCarbonCsv,
  runsToJson,
} from '../../src/core/history/codecarbon';
import { isoTime } from '../../src/core/history/isoTime';
import { CsvReader, csvField, csvRow, parseCsv, unescapeCsvCell } from '../../src/core/history/csv';
import { supersededNote } from '../../src/core/history/codecarbonRow';
import { importCodeCarbonFile, summariseImportProblems } from '../../src/core/history/import';
import { runLine, runProblem } from '../../src/core/history/records';
import { redactRun } from '../../src/core/history/redact';
import { HistoryStore } from '../../src/core/history/store';
import { fromUtf8Bytes } from '../../src/core/history/utf8Text';
import { resolveRegion } from '../../src/core/intensity/regions';
import { J_PER_KWH, type Run } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/codecarbon');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

const A2_TO_A3: Record<string, string> = { FR: 'FRA', DE: 'DEU', NO: 'NOR', US: 'USA', GB: 'GBR', CA: 'CAN' };
const A3_TO_A2 = Object.fromEntries(Object.entries(A2_TO_A3).map(([a, b]) => [b, a]));

function close(actual: number, expected: number, rel = 1e-12, what = ''): void {
  const tol = Math.max(Math.abs(expected) * rel, 1e-300);
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} ≠ ${expected}`);
}

/** A CSV cell of a row, by column name. */
function cells(csv: string): Record<string, string>[] {
  const { records } = parseCsv(csv);
  const header = records[0].fields;
  return records.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r.fields[i]])));
}

describe('CodeCarbon interop', () => {
  describe('columns', () => {
    it('CODECARBON_COLUMNS is the 3.x header, in order', () => {
      assert.equal(
        CODECARBON_COLUMNS.join(','),
        'timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue',
      );
      assert.equal(fixture('emissions-v3.csv').split('\n')[0], CODECARBON_COLUMNS.join(','));
      assert.equal(fixture('emissions-v2.7.csv').split('\n')[0], CODECARBON_V2_COLUMNS.join(','));
    });
  });

  describe('import', () => {
    it('reads a 3.x file; flush rows of one run_id collapse into its final row', () => {
      const { runs, errors } = parseCodeCarbonCsv(fixture('emissions-v3.csv'), {
        fileName: 'emissions.csv',
        fromAlpha3: (c) => A3_TO_A2[c],
      });
      assert.deepEqual(errors, []);
      assert.deepEqual(
        runs.map((r) => r.name),
        ['resnet50-imagenet', 'tokenizer-bench', 'bert-base-finetune'],
      );
      for (const r of runs) assert.equal(runProblem(r), undefined, `${r.name} is a storable Run`);

      const [resnet, tok, bert] = runs;
      const row = cells(fixture('emissions-v3.csv'))[2]; // the stop() row of resnet
      assert.equal(resnet.source, 'codecarbon-import');
      assert.equal(resnet.status, 'completed');
      assert.equal(resnet.durationS, 2182.4617523);
      assert.equal(resnet.emissionsKg, Number(row.emissions));
      assert.equal(resnet.energyKWh.total, Number(row.energy_consumed));
      assert.equal(resnet.energyKWh.cpu, Number(row.cpu_energy));
      assert.equal(resnet.energyKWh.gpu, Number(row.gpu_energy));
      assert.equal(resnet.pue, 1);
      assert.equal(resnet.pueSource, 'CodeCarbon pue column');
      assert.equal(resnet.endedAt, new Date('2025-11-03T09:34:03').toISOString()); // local time, as CodeCarbon writes it
      assert.equal(Date.parse(resnet.endedAt!) - Date.parse(resnet.startedAt), Math.round(2182.4617523 * 1000));
      close(resnet.intensity.gPerKWh, 56, 1e-9, 'g/kWh');
      // CodeCarbon's own figure, named as such; the region as native runs name it, and which columns said so
      assert.equal(resnet.intensity.method, 'imported');
      assert.equal(resnet.intensity.source, CODECARBON_IMPORT_SOURCE);
      assert.match(resnet.intensity.source, /CodeCarbon's emissions\.csv/);
      assert.equal(resnet.intensity.region, 'FR');
      assert.equal(resnet.intensity.regionName, 'France');
      assert.equal(resnet.intensity.regionReason, "CodeCarbon's country_iso_code FRA (region île-de-france)");
      assert.equal(resnet.power.gpu.method, 'default');
      assert.equal(resnet.power.gpu.detail, 'imported from CodeCarbon');
      close(resnet.power.gpu.meanW, 288.204, 1e-9, 'mean W from energy');
      assert.equal(resnet.power.gpu.lastW, 288.204);
      assert.equal(resnet.hardware.cpuModel, 'AMD Ryzen 9 5900X 12-Core Processor');
      assert.equal(resnet.hardware.logicalCpus, 24);
      assert.equal(resnet.hardware.ramGB, 62.71875);
      assert.deepEqual(resnet.hardware.gpus, [{ index: 0, name: 'NVIDIA GeForce RTX 3090' }]);
      close(resnet.cpuSeconds, 0.387 * 2182.4617523 * 24, 1e-12, 'cpu seconds');
      assert.ok(resnet.notes!.some((n) => n.includes('CodeCarbon 3.3.0') && n.includes('emissions.csv')));
      assert.ok(resnet.notes!.some((n) => /2 earlier row/.test(n)));
      assert.ok(resnet.notes!.some((n) => /whole machine/.test(n)));

      assert.deepEqual(tok.hardware.gpus, []);
      assert.equal(tok.energyKWh.gpu, 0);
      assert.equal(tok.intensity.region, 'DE');
      close(tok.intensity.gPerKWh, 381, 1e-9);

      // on the cloud, with a PUE: component energies in the file include it, ours do not
      assert.equal(bert.intensity.region, 'aws:eu-west-3');
      assert.equal(bert.intensity.regionName, resolveRegion('aws:eu-west-3').name, 'our name for the cloud region');
      assert.equal(bert.pue, 1.135);
      close(bert.power.cpu.meanW, 60, 1e-9, 'cpu mean W before PUE');
      close((bert.energyKWh.cpu + bert.energyKWh.gpu + bert.energyKWh.ram) * bert.pue, bert.energyKWh.total, 1e-12);
      close(bert.intensity.gPerKWh, 52, 1e-9);
    });

    it('reads 2.x files (with and without experiment_id)', () => {
      const v27 = parseCodeCarbonCsv(fixture('emissions-v2.7.csv'));
      assert.deepEqual(v27.errors, []);
      assert.equal(v27.runs.length, 1);
      assert.equal(v27.runs[0].name, 'llama-lora');
      assert.equal(v27.runs[0].intensity.region, 'CA', 'alpha-3 mapped through the intensity tables by default');
      assert.equal(v27.runs[0].intensity.regionName, resolveRegion('CA').name);
      assert.equal(v27.runs[0].intensity.method, 'imported');
      assert.equal(v27.runs[0].hardware.logicalCpus, 96);
      assert.equal(v27.runs[0].cpuSeconds, 0);
      assert.ok(v27.runs[0].notes!.includes('CPU time not in the file'));

      const v23 = parseCodeCarbonCsv(fixture('emissions-v2.3.csv'));
      assert.deepEqual(v23.errors, []);
      assert.deepEqual(
        v23.runs.map((r) => r.name),
        ['3CABTP', 'sklearn-gridsearch'],
      );
      const [tiny] = v23.runs;
      assert.equal(tiny.durationS, 1.3259670734405518);
      assert.equal(tiny.emissionsKg, 1.5744747536046297e-7);
      assert.deepEqual(tiny.hardware.gpus, []);
      close(tiny.power.ram.meanW, 2.7667794227600098, 1e-9);
    });

    it('reads shuffled columns with optional ones missing', () => {
      const { runs, errors } = parseCodeCarbonCsv(fixture('emissions-shuffled-missing.csv'));
      assert.deepEqual(errors, []);
      assert.equal(runs.length, 2);
      const [a] = runs;
      assert.equal(a.name, 'whisper-small-eval');
      assert.equal(a.durationS, 412.55);
      assert.equal(a.pue, 1);
      assert.equal(a.pueSource, 'CodeCarbon default (1.0)');
      assert.equal(a.intensity.region, 'NO');
      close(a.intensity.gPerKWh, 30.1, 1e-9);
      close(a.power.gpu.meanW, 151.25, 1e-9);
      assert.equal(a.power.gpu.lastW, a.power.gpu.meanW, 'no power column: last = mean');
      assert.deepEqual(
        a.hardware.gpus.map((g) => g.name),
        ['NVIDIA RTX A4000', 'NVIDIA RTX A4000'],
      );
      assert.equal(a.hardware.os, undefined);
    });

    it('reads quoted fields with commas, quotes and line breaks, CRLF and a BOM', () => {
      const { runs, errors } = parseCodeCarbonCsv(fixture('emissions-quoted-crlf.csv'));
      assert.deepEqual(errors, []);
      assert.deepEqual(
        runs.map((r) => r.name),
        ['ablation, "no dropout" (seed 3)', 'notes\nsecond line'],
      );
      assert.equal(runs[0].hardware.cpuModel, 'AMD EPYC 7763 64-Core Processor, 2 sockets');
      assert.deepEqual(
        runs[0].hardware.gpus.map((g) => g.name),
        ['NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-40GB'],
      );
      assert.equal(runs[1].durationS, 10);
      assert.ok(
        runs[1].notes!.some((n) => n.includes('line 3')),
        'line numbers count physical lines',
      );
    });

    it('derives ids from run_id: importing twice, or a file with more flushes, adds nothing new', () => {
      const first = parseCodeCarbonCsv(fixture('emissions-v3.csv'));
      const again = parseCodeCarbonCsv(fixture('emissions-v3.csv'));
      assert.deepEqual(
        first.runs.map((r) => r.id),
        again.runs.map((r) => r.id),
      );
      const partial = parseCodeCarbonCsv(fixture('emissions-v3.csv').split('\n').slice(0, 2).join('\n'));
      assert.equal(partial.runs[0].id, first.runs[0].id, 'the flush row and the final row are the same run');
      for (const id of first.runs.map((r) => r.id)) assert.match(id, /^cc-[0-9a-f]{24}$/);

      const store = new HistoryStore(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-')), { durable: false });
      try {
        store.appendMany(first.runs);
        store.appendMany(again.runs);
        assert.equal(store.load().runs.length, 3);
      } finally {
        fs.rmSync(store.dir, { recursive: true, force: true });
      }
    });

    it('reports bad rows with their line numbers and keeps the others', () => {
      const header = CODECARBON_COLUMNS.join(',');
      const good = fixture('emissions-v3.csv').split('\n')[4];
      const line = (v: Partial<Record<(typeof CODECARBON_COLUMNS)[number], string>>) =>
        CODECARBON_COLUMNS.map((c) => v[c] ?? '').join(',');
      const base = {
        timestamp: '2025-01-01T00:00:00',
        project_name: 'x',
        duration: '10',
        emissions: '0.1',
        energy_consumed: '3',
      };
      const text = [
        header,
        good,
        line({ ...base, run_id: 'r1', timestamp: 'not-a-time' }),
        line({ ...base, run_id: 'r2', duration: 'ten' }),
        '2025-01-01T00:00:00,x,r3,short row',
        line({ ...base, run_id: 'r4', energy_consumed: '' }),
        '',
      ].join('\n');
      const { runs, errors } = parseCodeCarbonCsv(text);
      assert.equal(runs.length, 1);
      assert.deepEqual(
        errors.map((e) => e.line),
        [3, 4, 5, 6],
      );
      assert.match(errors[0].reason, /timestamp/);
      assert.match(errors[1].reason, /duration/);
      assert.match(errors[2].reason, /4 fields where the header has 38/);
      assert.match(errors[3].reason, /no energy/);
    });

    it('refuses a file that is not an emissions.csv', () => {
      assert.match(
        parseCodeCarbonCsv('a,b,c\n1,2,3\n').errors[0].reason,
        /not a CodeCarbon emissions.csv: no column timestamp, duration, emissions/,
      );
      assert.deepEqual(parseCodeCarbonCsv('').errors, [{ line: 1, reason: 'empty file' }]);
      const unterminated = parseCodeCarbonCsv(`${CODECARBON_COLUMNS.join(',')}\n2025-01-01T00:00:00,"oops`);
      assert.deepEqual(unterminated.runs, []);
      assert.deepEqual(unterminated.errors, [{ line: 2, reason: 'unterminated quoted field' }]);
    });
  });

  describe('export', () => {
    it("writes the 3.x header and CodeCarbon's units, PUE included in the component energies", () => {
      const run = makeRun(
        { name: 'train, "big" model' },
        { durationS: 3600, cpuW: 40, gpuW: 250, ramW: 5, pue: 1.2, gPerKWh: 56 },
      );
      const csv = runsToCodeCarbonCsv([run], (a2) => A2_TO_A3[a2]);
      const lines = csv.split('\n');
      assert.equal(lines[0], CODECARBON_COLUMNS.join(','));
      assert.equal(lines.length, 3);
      assert.equal(lines[2], '');
      const [row] = cells(csv);
      assert.equal(row.project_name, 'train, "big" model');
      assert.ok(lines[1].includes('"train, ""big"" model"'));
      assert.equal(row.run_id, run.id);
      assert.equal(Number(row.duration), 3600);
      assert.equal(Number(row.emissions), run.emissionsKg);
      assert.equal(Number(row.emissions_rate), run.emissionsKg / 3600);
      assert.equal(Number(row.cpu_power), 40);
      assert.equal(Number(row.gpu_power), 250);
      close(Number(row.cpu_energy), (40 * 3600 * 1.2) / J_PER_KWH);
      close(Number(row.energy_consumed), ((295 * 3600) / J_PER_KWH) * 1.2);
      close(Number(row.cpu_energy) + Number(row.gpu_energy) + Number(row.ram_energy), Number(row.energy_consumed));
      assert.equal(row.country_iso_code, 'FRA');
      assert.equal(row.country_name, 'France');
      assert.equal(row.on_cloud, 'N');
      assert.equal(row.tracking_mode, 'process');
      assert.equal(row.codecarbon_version, '');
      assert.equal(row.gpu_model, '1 x NVIDIA GeForce RTX 3090');
      assert.equal(row.gpu_count, '1');
      assert.equal(Number(row.pue), 1.2);
      assert.match(row.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.equal(new Date(row.timestamp).getTime(), Math.floor(Date.parse(run.endedAt!) / 1000) * 1000);
    });

    it('writes cloud regions as cloud_provider and cloud_region', () => {
      const run = makeRun({}, { region: 'aws:eu-west-3', regionName: 'AWS eu-west-3 (Paris)' });
      const [row] = cells(runsToCodeCarbonCsv([run], { toAlpha3: (a2) => A2_TO_A3[a2] }));
      assert.equal(row.cloud_provider, 'aws');
      assert.equal(row.cloud_region, 'eu-west-3');
      assert.equal(row.on_cloud, 'Y');
      assert.equal(row.country_iso_code, '');
      const [sub] = cells(
        runsToCodeCarbonCsv([makeRun({}, { region: 'US-CAL-CISO', regionName: 'California' })], (a2) => A2_TO_A3[a2]),
      );
      assert.equal(sub.country_iso_code, 'USA');
      assert.equal(sub.region, 'cal-ciso');
    });

    it('round-trips: export → import gives the same figures', () => {
      const runs: Run[] = [
        makeRun({ name: 'plain' }, { startedAt: new Date('2025-11-03T08:00:00.000Z'), durationS: 1843, pue: 1 }),
        makeRun(
          { name: 'cloud, PUE 1.135' },
          {
            startedAt: new Date('2025-11-04T08:00:00.000Z'),
            durationS: 5423.9,
            pue: 1.135,
            region: 'aws:eu-west-3',
            gPerKWh: 52,
          },
        ),
        makeRun(
          { name: 'cpu only\nwith a line break' },
          {
            startedAt: new Date('2025-11-05T08:00:00.000Z'),
            durationS: 61.5,
            gpuW: 0,
            region: 'DE',
            regionName: 'Germany',
            gPerKWh: 381,
          },
        ),
      ];
      runs[2].hardware = { ...runs[2].hardware, gpus: [] };
      const csv = runsToCodeCarbonCsv(runs, (a2) => A2_TO_A3[a2]);
      const back = parseCodeCarbonCsv(csv, { fromAlpha3: (a3) => A3_TO_A2[a3] });
      assert.deepEqual(back.errors, []);
      assert.equal(back.runs.length, 3);
      back.runs.forEach((b, i) => {
        const r = runs[i];
        assert.equal(b.name, r.name);
        assert.equal(b.durationS, r.durationS);
        assert.equal(b.emissionsKg, r.emissionsKg);
        assert.equal(b.pue, r.pue);
        assert.equal(b.energyKWh.total, r.energyKWh.total);
        for (const k of ['cpu', 'gpu', 'ram'] as const) {
          close(b.energyKWh[k], r.energyKWh[k], 1e-12, k);
          close(b.power[k].meanW, r.power[k].meanW, 1e-9, `${k} W`);
        }
        close(b.intensity.gPerKWh, r.intensity.gPerKWh, 1e-9, 'g/kWh');
        assert.equal(b.intensity.region, r.intensity.region);
        close(b.cpuSeconds, r.cpuSeconds, 1e-12, 'cpu s');
        assert.equal(b.hardware.cpuModel, r.hardware.cpuModel);
        assert.equal(b.hardware.logicalCpus, r.hardware.logicalCpus);
        assert.equal(b.hardware.ramGB, r.hardware.ramGB);
        assert.deepEqual(
          b.hardware.gpus.map((g) => g.name),
          r.hardware.gpus.map((g) => g.name),
        );
        assert.ok(Math.abs(Date.parse(b.endedAt!) - Date.parse(r.endedAt!)) < 1000, 'end time to the second');
        assert.equal(Date.parse(b.endedAt!) - Date.parse(b.startedAt), Math.round(r.durationS * 1000));
      });
      // the runs keep their ids: importing an export into the history it came from adds nothing
      assert.deepEqual(
        back.runs.map((b) => b.id),
        runs.map((r) => r.id),
      );
      assert.ok(back.runs.every((b) => !b.notes?.some((n) => n.startsWith('CodeCarbon run_id'))));
      // and the import of the export is stable
      const twice = parseCodeCarbonCsv(
        runsToCodeCarbonCsv(back.runs, (a2) => A2_TO_A3[a2]),
        { fromAlpha3: (a3) => A3_TO_A2[a3] },
      );
      assert.deepEqual(
        twice.runs.map((r) => [r.energyKWh.total, r.emissionsKg, r.durationS]),
        back.runs.map((r) => [r.energyKWh.total, r.emissionsKg, r.durationS]),
      );
    });

    it('runsToJson writes the Run records as a JSON array', () => {
      const runs = [makeRun(), makeRun({ name: 'b' })];
      const text = runsToJson(runs);
      assert.ok(text.endsWith('\n'));
      assert.deepEqual(JSON.parse(text), runs);
    });
  });

  describe('CSV parser', () => {
    it('handles quotes, doubled quotes, embedded CR/LF/CRLF, lone CR line ends and blank lines', () => {
      const { records, errors } = parseCsv('a,"b,1","c ""q"""\r\n\r\n"x\r\ny",,z\rlast,"",end');
      assert.deepEqual(errors, []);
      assert.deepEqual(records, [
        { line: 1, fields: ['a', 'b,1', 'c "q"'] },
        { line: 3, fields: ['x\ny', '', 'z'] },
        { line: 5, fields: ['last', '', 'end'] },
      ]);
    });
  });

  describe('streaming CSV reader', () => {
    const tricky = [
      fixture('emissions-v3.csv'),
      fixture('emissions-quoted-crlf.csv'),
      '\ufeffa,"b,1","c ""q"""\r\n\r\n"x\r\ny",,z\rlast,"",end',
      'a,b\r\nc,"d\r\ne"\r\n"f""",g\n',
      'unterminated,"quote\nrow',
    ];
    it('gives the same records and errors whatever the chunk size (1 character to the whole text)', () => {
      for (const text of tricky) {
        const whole = parseCsv(text);
        for (const size of [1, 2, 3, 7, 64, text.length]) {
          const reader = new CsvReader();
          const records = [];
          for (let i = 0; i < text.length; i += size) records.push(...reader.push(text.slice(i, i + size)));
          records.push(...reader.end());
          assert.deepEqual(
            { records, errors: reader.errors },
            whole,
            `chunks of ${size} of ${JSON.stringify(text.slice(0, 30))}`,
          );
        }
      }
    });
  });

  describe('formula injection (OWASP CSV injection)', () => {
    const names = [
      '=HYPERLINK("http://evil.example","click")',
      '+1+2',
      '-2+3',
      '@SUM(A1)',
      '\tx',
      '\rx',
      "'=already",
      "'plain",
      'plain',
      '-',
      'a=b',
    ];

    it('escapes text cells that start with = + - @ tab or CR: a leading quote, and the cell quoted', () => {
      assert.equal(
        csvField('=HYPERLINK("http://evil.example","click")'),
        '"\'=HYPERLINK(""http://evil.example"",""click"")"',
      );
      assert.equal(csvField('+1'), `"'+1"`);
      assert.equal(csvField('-1'), `"'-1"`);
      assert.equal(csvField('@x'), `"'@x"`);
      assert.equal(csvField('\tx'), `"'\tx"`);
      assert.equal(csvField("'=x"), `"''=x"`);
      assert.equal(csvField('a=b'), 'a=b');
      assert.equal(csvField("'plain"), "'plain");
    });

    it('keeps numbers as numbers, negative ones included', () => {
      assert.equal(csvField(-0.5), '-0.5');
      assert.equal(csvField(-1e-7), '-1e-7');
      assert.equal(csvRow([-3, '-3', 2]), `-3,"'-3",2`);
    });

    it('round-trips exactly: an export read back gives the original names', () => {
      const runs = names.map((name) => makeRun({ name }));
      const csv = runsToCodeCarbonCsv(runs, (a2) => A2_TO_A3[a2]);
      for (const line of csv.split('\n').slice(1, -1)) {
        const cell = line.slice(line.indexOf(',') + 1);
        assert.doesNotMatch(cell, /^[=+\-@\t\r]/, 'no cell starts a formula');
      }
      const back = parseCodeCarbonCsv(csv);
      assert.deepEqual(back.errors, []);
      assert.deepEqual(
        back.runs.map((r) => r.name),
        names.map((n) => n.replace(/\r/g, '\n')), // a CR inside a quoted cell reads back as a line break (RFC 4180)
      );
      assert.equal(unescapeCsvCell("'plain"), "'plain");
      assert.equal(unescapeCsvCell("''=x"), "'=x");
    });
  });

  describe('bad rows', () => {
    const header = CODECARBON_COLUMNS.join(',');
    const row = (over: Partial<Record<string, string>> = {}) =>
      CODECARBON_COLUMNS.map(
        (c) =>
          over[c] ??
          (
            {
              timestamp: '2025-03-01T10:00:00',
              project_name: 'p',
              run_id: over.run_id ?? 'r',
              duration: '60',
              emissions: '0.001',
              energy_consumed: '0.01',
              cpu_energy: '0.01',
              pue: '1',
            } as Record<string, string>
          )[c] ??
          '',
      ).join(',');

    it('skips each bad row with its line and reason, and keeps every valid row', () => {
      const csv = [
        header,
        row({ run_id: 'ok-1' }),
        row({ run_id: 'huge', duration: '1e13' }),
        row({ run_id: 'neg-energy', cpu_energy: '-0.5' }),
        row({ run_id: 'neg-total', energy_consumed: '-1' }),
        row({ run_id: 'neg-emissions', emissions: '-0.1' }),
        row({ run_id: 'neg-duration', duration: '-5' }),
        row({ run_id: 'bad-date', timestamp: 'yesterday' }),
        row({ run_id: 'early', timestamp: '0001-01-01T00:00:00', duration: '1e8' }),
        row({ run_id: 'ok-2' }),
      ].join('\n');
      const { runs, errors } = parseCodeCarbonCsv(csv);
      assert.deepEqual(
        runs.map((r) => r.notes?.find((n) => n.startsWith('CodeCarbon run_id'))),
        ['CodeCarbon run_id ok-1', 'CodeCarbon run_id ok-2'],
      );
      const byLine = Object.fromEntries(errors.map((e) => [e.line, e.reason]));
      assert.match(byLine[3], /^invalid duration: 1e13 s is more than ten years/);
      assert.match(byLine[4], /^negative cpu_energy/);
      assert.match(byLine[5], /^negative energy_consumed/);
      assert.match(byLine[6], /^negative emissions/);
      assert.match(byLine[7], /^negative duration/);
      assert.match(byLine[8], /^invalid timestamp/);
      assert.match(byLine[9], /^invalid timestamp: .* before 1970/);
      assert.equal(errors.length, 7);
      for (const r of runs) assert.equal(runProblem(r), undefined);
    });

    it('importCodeCarbonFile streams a file into the store in batches, skips and summarises bad rows, and is idempotent', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-import-'));
      const file = path.join(dir, 'emissions.csv');
      const lines = [header];
      for (let i = 0; i < 300; i++) {
        lines.push(row({ run_id: `run-${i}`, duration: String(100 + i) }));
        if (i % 3 === 0) lines.push(row({ run_id: `run-${i}`, duration: String(50 + i) })); // an earlier flush, out of order
        if (i % 100 === 7) lines.push(row({ run_id: `bad-${i}`, duration: '1e13' }));
        if (i % 100 === 9) lines.push(row({ run_id: `neg-${i}`, gpu_energy: '-2' }));
      }
      fs.writeFileSync(file, lines.join('\r\n') + '\r\n');
      const store = new HistoryStore(path.join(dir, 'home'), { durable: false });
      const r = importCodeCarbonFile(store, file, { chunkBytes: 4096, batchRuns: 64 });
      assert.equal(r.fatal, undefined);
      assert.equal(r.rows, 300 + 100 + 6);
      assert.equal(r.added, 300);
      assert.equal(r.superseded, 100);
      assert.equal(r.skipped, 6);
      assert.deepEqual(
        r.problems.map((p) => [p.kind, p.count, p.lines]),
        [
          ['invalid duration', 3, [13, 148, 284]],
          ['negative gpu_energy', 3, [17, 152, 287]],
        ],
      );
      assert.match(
        summariseImportProblems(r.problems),
        /^6 row\(s\) skipped: 3 × invalid duration \(lines 13, 148, 284; e\.g\. invalid duration: 1e13 s/,
      );
      const runs = new HistoryStore(store.dir).load().runs;
      assert.equal(runs.length, 300);
      assert.ok(
        runs.every((x) => x.durationS >= 100),
        'the longest row of each run_id wins',
      );
      const again = importCodeCarbonFile(store, file);
      assert.equal(again.added, 0);
      assert.equal(again.known, 300);
      assert.equal(new HistoryStore(store.dir).load().runs.length, 300);
    });

    it('an export of the history imported back adds nothing there, and elsewhere keeps each run its id', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-roundtrip-'));
      try {
        const store = new HistoryStore(path.join(dir, 'home'), { durable: false });
        const native = makeRun({ name: 'train' });
        store.append(native);
        const first = path.join(dir, 'emissions.csv');
        fs.writeFileSync(first, [header, row({ run_id: 'a-uuid', duration: '10' })].join('\n') + '\n');
        assert.equal(importCodeCarbonFile(store, first).added, 1);
        const exported = path.join(dir, 'export.csv');
        fs.writeFileSync(
          exported,
          runsToCodeCarbonCsv(store.load().runs, (a2) => A2_TO_A3[a2]),
        );
        const back = importCodeCarbonFile(store, exported);
        assert.equal(back.fatal, undefined);
        assert.deepEqual([back.rows, back.added, back.known], [2, 0, 2]);
        assert.equal(store.load().runs.length, 2);
        const elsewhere = new HistoryStore(path.join(dir, 'other'), { durable: false });
        assert.equal(importCodeCarbonFile(elsewhere, exported).added, 2);
        assert.deepEqual(
          elsewhere
            .load()
            .runs.map((r) => r.id)
            .sort(),
          store
            .load()
            .runs.map((r) => r.id)
            .sort(),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('importCodeCarbonFile writes a run once when its cumulative flush rows follow each other, and keeps every count', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-flush-'));
      const file = path.join(dir, 'emissions.csv');
      const store = new HistoryStore(path.join(dir, 'home'), { durable: false });
      // a run already in the history, extended by this file's two later flushes
      fs.writeFileSync(file, [header, row({ run_id: 'old', duration: '10' })].join('\n') + '\n');
      assert.equal(importCodeCarbonFile(store, file).added, 1);
      const lines = [header, row({ run_id: 'old', duration: '20' }), row({ run_id: 'old', duration: '30' })];
      for (let i = 0; i < 50; i++)
        for (let f = 1; f <= 3; f++) lines.push(row({ run_id: `run-${i}`, duration: String(100 * f + i) }));
      lines.push(row({ run_id: 'run-7', duration: '1' })); // an earlier flush after the run's last: left out
      lines.push(row({ run_id: 'tail', duration: '5' })); // the last row: held back until the end, then written
      fs.writeFileSync(file, lines.join('\n') + '\n');
      const historyFile = path.join(store.dir, 'history.jsonl');
      const before = fs.readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).length;
      const r = importCodeCarbonFile(store, file, { batchRuns: 7 });
      assert.equal(r.fatal, undefined);
      assert.equal(r.rows, 2 + 150 + 2);
      assert.equal(r.added, 51);
      assert.equal(r.updated, 1);
      assert.equal(r.superseded, 1 + 100 + 1);
      const written = fs.readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).length - before;
      // one line per run, and a second one only where a batch (7 runs) was written between two flushes of a run
      assert.ok(written >= 52 && written <= 52 + Math.ceil(150 / 7), `${written} lines written`);
      const runs = new HistoryStore(store.dir).load().runs;
      assert.equal(runs.length, 52);
      const byRunId = (id: string) => runs.find((x) => x.notes?.includes(`CodeCarbon run_id ${id}`))!;
      assert.equal(byRunId('old').durationS, 30);
      assert.ok(byRunId('old').notes!.includes(supersededNote(1)));
      for (let i = 0; i < 50; i++) {
        assert.equal(byRunId(`run-${i}`).durationS, 300 + i);
        assert.ok(byRunId(`run-${i}`).notes!.includes(supersededNote(2)));
      }
      assert.equal(byRunId('tail').durationS, 5);
    });

    it('isoTime formats times exactly as toISOString does, across days, fractions of a millisecond and years', () => {
      const times = [
        -86_400_001.5, -1, -0.5, 0, 0.9, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, 86_400_000, 86_400_000.5,
        951_782_400_000,
      ];
      for (let k = 0; k < 5000; k++) times.push(Math.random() * 253_402_300_800_000, 1_735_689_600_000 + k * 61_001.25);
      // the last millisecond of 9999, then years of six digits (+010000-…), up to the last time a Date holds
      times.push(253_402_300_799_999, 253_402_300_800_000, 8.64e15);
      for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    });

    it('importedRunLine writes exactly what runLine writes, for every shape an imported row takes', () => {
      const odd = [
        header,
        row({ run_id: 'plain' }),
        row({ run_id: 'quoted', project_name: '"say ""hi"", \\ back\tslash"', os: '' }),
        row({
          run_id: 'unicode',
          project_name: 'żółw 🐢 \u2028',
          country_iso_code: 'FRA',
          country_name: 'France',
          region: 'idf',
        }),
        row({
          run_id: 'cloud',
          cloud_provider: 'AWS',
          cloud_region: 'eu-west-3',
          country_name: 'France',
          gpu_model: '"2 x A100, 1 x T4"',
        }),
        row({
          run_id: 'parts',
          energy_consumed: '',
          cpu_energy: '1e-9',
          gpu_energy: '0.3333333333333333',
          pue: '1.58',
          cpu_utilization_percent: '37.5',
          cpu_count: '8',
        }),
        row({
          run_id: '',
          project_name: 'no-id',
          tracking_mode: 'machine',
          gpu_count: '2',
          codecarbon_version: '2.8.0',
        }),
        row({ run_id: 'secret', project_name: 'train --api-key=abc123' }),
        row({ run_id: 'formula', project_name: "'=HYPERLINK(1)", emissions: '1e-300', duration: '0' }),
      ].join('\n');
      const { runs, errors } = parseCodeCarbonCsv(odd + '\n' + row({ run_id: 'plain', duration: '30' }), {
        fileName: 'e.csv',
        fromAlpha3: (a3) => A3_TO_A2[a3],
      });
      assert.deepEqual(errors, []);
      assert.equal(runs.length, 8);
      assert.ok(
        runs[0].notes!.some((n) => /superseded/.test(n)),
        'a superseded note is part of the line',
      );
      const at = new Date(Date.UTC(2025, 5, 1)).toISOString();
      for (const run of runs) {
        assert.equal(importedRunLine(run, at), runLine(run, at), run.name);
        assert.equal(importedRunLine(redactRun(run), at), runLine(redactRun(run), at), run.name);
        const bytes = Buffer.from(importedRunLineBytes(run, at), 'latin1');
        assert.deepEqual(bytes, Buffer.from(runLine(run, at), 'utf8'), run.name);
      }
      // as the import does it: each row's line right after the row (its id, times and first note are then known
      // plain), with file names and versions that are plain, need escaping or are not ASCII
      const rows = parseCsv(odd + '\n' + row({ run_id: 'v', codecarbon_version: '3.0.1 ⚡"beta"' })).records;
      const h = codeCarbonHeader(rows[0]);
      assert.ok(!('reason' in h));
      for (const fileName of ['e.csv', 'my "e".csv', 'é\\x.csv', undefined]) {
        for (const rec of rows.slice(1)) {
          const run = codeCarbonRow(h, rec, { fileName, fromAlpha3: (a3) => A3_TO_A2[a3] });
          assert.ok(!('reason' in run));
          const expected = Buffer.from(runLine(redactRun(run), at), 'utf8');
          assert.deepEqual(Buffer.from(importedRunLineBytes(redactRun(run), at), 'latin1'), expected, run.name);
          assert.deepEqual(
            JSON.parse(fromUtf8Bytes(importedRunLineBytes(run, at))).run,
            JSON.parse(runLine(run, at)).run,
          );
        }
      }
    });

    it('importCodeCarbonFile starts on a fresh line after a torn last line, and redacts project names', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-import-'));
      const file = path.join(dir, 'emissions.csv');
      fs.writeFileSync(
        file,
        [header, row({ run_id: 'a', project_name: 'x --password=hunter2' }), row({ run_id: 'b' })].join('\n'),
      );
      const store = new HistoryStore(path.join(dir, 'home'), { durable: false });
      fs.mkdirSync(store.dir, { recursive: true });
      fs.writeFileSync(store.historyPath, '{"v":1,"kind":"run","at":"2025'); // a writer killed mid-line
      const r = importCodeCarbonFile(store, file);
      assert.equal(r.added, 2);
      const load = new HistoryStore(store.dir).load();
      assert.equal(load.runs.length, 2);
      assert.deepEqual(
        load.corrupt.map((c) => c.line),
        [1],
      );
      assert.ok(load.runs.some((x) => x.name === 'x --password=***'));
      assert.ok(!fs.readFileSync(store.historyPath, 'utf8').includes('hunter2'));
    });

    it('importCodeCarbonFile says why when the file is missing, empty or not a CodeCarbon file', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cc-import-'));
      const store = new HistoryStore(path.join(dir, 'home'));
      assert.match(importCodeCarbonFile(store, path.join(dir, 'nope.csv')).fatal!, /cannot read .*nope\.csv: ENOENT/);
      fs.writeFileSync(path.join(dir, 'empty.csv'), '');
      assert.match(importCodeCarbonFile(store, path.join(dir, 'empty.csv')).fatal!, /is empty/);
      fs.writeFileSync(path.join(dir, 'other.csv'), 'a,b\n1,2\n');
      assert.match(
        importCodeCarbonFile(store, path.join(dir, 'other.csv')).fatal!,
        /not a CodeCarbon emissions\.csv: no column timestamp/,
      );
    });
  });
});
