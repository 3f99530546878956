/**
 * The history line of a run imported from CodeCarbon (built by `codeCarbonRow`, after any superseded note and
 * redaction): byte for byte what `runLine` writes (JSON.stringify of the record; a unit test holds them equal),
 * without JSON.stringify's generic walk over the whole record.
 *
 * An import writes hundreds of thousands of these lines of about 1.8 kB (issue 9), and most of a line is the same
 * from one line to the next, so the line is put together from as few pieces as it can be: the members that every
 * imported run has (`"command":""`, `"method":"default"`) are fixed text, used after checking that the run holds
 * exactly those values; the strings and figures that repeat from line to line (the place, the machine, the power
 * columns, the PUE) are encoded once and kept while they repeat; only the ids, times and energies are new on each
 * line. Fewer pieces make the line cheaper to build, to flatten and to write out as UTF-8.
 *
 * The line is built as its UTF-8 bytes, one per character (`importedRunLineBytes`, utf8Text.ts): the store copies
 * it out without an encoding pass, and the id, times and first note that codecarbonRow.ts just made go in without a
 * test for escapes (`lastPlain`, `previousPlain`).
 *
 * Only for records of that shape: any other run goes through `runLine`.
 */
import type { ComponentPower, GpuInfo, Run, RunIntensity } from '../types';
import { HISTORY_FORMAT_VERSION } from './records';
import { IMPORT_DETAIL, IMPORT_SOURCE, lastPlain, previousPlain } from './codecarbonRow';
import { fromUtf8Bytes, jsonBytes as json } from './utf8Text';

/** A number as JSON.stringify writes it (non-finite numbers become null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** A string that often repeats from line to line, as JSON: encoded again only when it changes. */
class StringJson {
  private v = '';
  private text = '""';

  of(v: string): string {
    if (v !== this.v) {
      this.v = v;
      this.text = json(v);
    }
    return this.text;
  }
}

/** An optional string member: `,"key":"value"`, nothing when undefined (as JSON.stringify leaves it out). */
function optStr(key: string, v: string | undefined): string {
  return v === undefined ? '' : `,"${key}":${json(v)}`;
}

/** `{"v":1,"kind":"run","at":…,"run":{"id":`, the start of every line of one import (`quoted`: and the id's quote). */
class LineHead {
  private at?: string;
  private text = '';
  private quotedText = '';

  of(at: string): string {
    if (at !== this.at) {
      this.at = at;
      this.text = `{"v":${HISTORY_FORMAT_VERSION},"kind":"run","at":${json(at)},"run":{"id":`;
      this.quotedText = this.text + '"';
    }
    return this.text;
  }

  quoted(at: string): string {
    this.of(at);
    return this.quotedText;
  }
}

/** The members between the name and the start time of every imported run, with the start time's opening quote. */
const IMPORT_SOURCE_MEMBERS = `,"command":"","cwd":"","source":"${IMPORT_SOURCE}","startedAt":"`;

/** What follows the name: the command, cwd and source, up to the start time's value (as JSON). */
function sourceMembers(run: Run): string {
  return run.command === '' && run.cwd === '' && run.source === IMPORT_SOURCE
    ? `,"command":"","cwd":"","source":"${IMPORT_SOURCE}","startedAt":`
    : `,"command":${json(run.command)},"cwd":${json(run.cwd)},"source":${json(run.source)},"startedAt":`;
}

/** `,"pue":…,"pueSource":…,"intensity":{"gPerKWh":`, encoded again only when the PUE or its source changed. */
class PueJson {
  private pue = NaN;
  private source?: string;
  private text = '';

  of(pue: number, source: string | undefined): string {
    if (!this.text || pue !== this.pue || source !== this.source) {
      this.pue = pue;
      this.source = source;
      this.text = `,"pue":${num(pue)}${optStr('pueSource', source)},"intensity":{"gPerKWh":`;
    }
    return this.text;
  }
}

/** The intensity's members after gPerKWh (the place and where the figure came from), up to the CPU's power. */
class IntensityRest {
  /** the members the text was made of (copied: the run they came from is not ours to keep) */
  private last?: Omit<RunIntensity, 'gPerKWh'>;
  private text = '';

  of(i: RunIntensity): string {
    const l = this.last;
    if (
      !l ||
      l.region !== i.region ||
      l.regionName !== i.regionName ||
      l.source !== i.source ||
      l.method !== i.method ||
      l.factorType !== i.factorType ||
      l.regionReason !== i.regionReason
    ) {
      const { region, regionName, source, method, factorType, regionReason } = i;
      this.last = { region, regionName, source, method, factorType, regionReason };
      this.text =
        `,"region":${json(region)}${optStr('regionName', regionName)},"source":${json(source)},` +
        `"method":${json(method)}${optStr('factorType', factorType)}${optStr('regionReason', regionReason)}},` +
        '"power":{"cpu":';
    }
    return this.text;
  }
}

/** One component's power: `{"method":…,"detail":…,"meanW":…,"lastW":…}`, then `after` (what follows it). */
class ComponentJson {
  private lastW = NaN;
  /** `,"lastW":…}` and `after` */
  private tail = '';

  constructor(private readonly after: string) {}

  of(c: ComponentPower): string {
    const head =
      c.method === 'default' && c.detail === IMPORT_DETAIL
        ? `{"method":"default","detail":"${IMPORT_DETAIL}","meanW":`
        : `{"method":${json(c.method)},"detail":${json(c.detail)},"meanW":`;
    if (!this.tail || c.lastW !== this.lastW) {
      this.lastW = c.lastW;
      this.tail = `,"lastW":${num(c.lastW)}}${this.after}`;
    }
    return head + num(c.meanW) + this.tail;
  }
}

/** The GPU list, `[{"index":0,"name":"…"}]`: encoded again only when it differs from the last line's. */
class GpusJson {
  /** the indices and names the text was made of */
  private last: GpuInfo[] = [];
  private text = '[]';

  of(gpus: GpuInfo[]): string {
    const l = this.last;
    let same = l.length === gpus.length;
    for (let k = 0; same && k < gpus.length; k++) same = l[k].index === gpus[k].index && l[k].name === gpus[k].name;
    if (!same) {
      let text = '';
      for (const g of gpus) text += `${text ? ',' : ''}{"index":${num(g.index)},"name":${json(g.name)}}`;
      this.last = gpus.map((g) => ({ index: g.index, name: g.name }));
      this.text = `[${text}]`;
    }
    return this.text;
  }
}

/** `,"hardware":{…}`: encoded again only when the machine differs from the last line's. */
class HardwareJson {
  private readonly gpus = new GpusJson();
  private last?: { cpuModel: string; logicalCpus: number; ramGB: number; gpus: string; os?: string };
  private text = '';

  of(h: Run['hardware']): string {
    const gpus = this.gpus.of(h.gpus);
    const l = this.last;
    if (
      !l ||
      l.cpuModel !== h.cpuModel ||
      l.logicalCpus !== h.logicalCpus ||
      l.ramGB !== h.ramGB ||
      l.gpus !== gpus ||
      l.os !== h.os
    ) {
      const { cpuModel, logicalCpus, ramGB, os } = h;
      this.last = { cpuModel, logicalCpus, ramGB, gpus, os };
      this.text =
        `,"hardware":{"cpuModel":${json(cpuModel)},"logicalCpus":${num(logicalCpus)},"ramGB":${num(ramGB)},` +
        `"gpus":${gpus}${optStr('os', os)}}`;
    }
    return this.text;
  }
}

const head = new LineHead();
const name = new StringJson();
const pueJson = new PueJson();
const intensityRest = new IntensityRest();
const cpuPower = new ComponentJson(',"gpu":');
const gpuPower = new ComponentJson(',"ram":');
const ramPower = new ComponentJson('}');
const hardware = new HardwareJson();

/** The history line of an imported run: exactly `runLine(run, at)`. */
export function importedRunLine(run: Run, at: string): string {
  return fromUtf8Bytes(importedRunLineBytes(run, at));
}

/**
 * The UTF-8 bytes of `runLine(run, at)`, one per character (utf8Text.ts): every string piece is encoded as it is
 * put in (most are ASCII, checked as they are escaped), so the line is written out without an encoding pass.
 */
export function importedRunLineBytes(run: Run, at: string): string {
  const e = run.energyKWh;
  const p = run.power;
  let notes = '';
  const n = run.notes;
  if (n) {
    if (!n.length) notes = ',"notes":[]';
    else {
      const first = n[0];
      notes =
        first === lastPlain.firstNote || first === previousPlain.firstNote
          ? ',"notes":["' + first + '"'
          : ',"notes":[' + json(first);
      for (let k = 1; k < n.length; k++) notes += ',' + json(n[k]);
      notes += ']';
    }
  }
  const id = run.id;
  const idName =
    id === lastPlain.id || id === previousPlain.id
      ? head.quoted(at) + id + '","name":'
      : head.of(at) + json(id) + ',"name":';
  const { startedAt, endedAt } = run;
  // the source members and the times: the usual case in one piece of fixed text and the two times
  const times =
    (startedAt === lastPlain.startedAt || startedAt === previousPlain.startedAt) &&
    (endedAt === lastPlain.endedAt || endedAt === previousPlain.endedAt) &&
    run.command === '' &&
    run.cwd === '' &&
    run.source === IMPORT_SOURCE
      ? IMPORT_SOURCE_MEMBERS + run.startedAt + '","endedAt":"' + run.endedAt + '","durationS":'
      : sourceMembers(run) +
        json(run.startedAt) +
        (run.endedAt === undefined ? '' : ',"endedAt":' + json(run.endedAt)) +
        ',"durationS":';
  return (
    idName +
    name.of(run.name) +
    times +
    num(run.durationS) +
    (run.status === 'completed'
      ? ',"status":"completed","cpuSeconds":'
      : `,"status":${json(run.status)},"cpuSeconds":`) +
    num(run.cpuSeconds) +
    ',"energyKWh":{"cpu":' +
    num(e.cpu) +
    ',"gpu":' +
    num(e.gpu) +
    ',"ram":' +
    num(e.ram) +
    ',"total":' +
    num(e.total) +
    '},"emissionsKg":' +
    num(run.emissionsKg) +
    pueJson.of(run.pue, run.pueSource) +
    num(run.intensity.gPerKWh) +
    intensityRest.of(run.intensity) +
    cpuPower.of(p.cpu) +
    gpuPower.of(p.gpu) +
    ramPower.of(p.ram) +
    hardware.of(run.hardware) +
    notes +
    '}}\n'
  );
}
