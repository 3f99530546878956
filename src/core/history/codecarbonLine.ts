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
 * test for escapes (`lastPlain`).
 *
 * Only for records of that shape: any other run goes through `runLine`.
 */
import type { ComponentPower, GpuInfo, Run, RunIntensity } from '../types';
import { HISTORY_FORMAT_VERSION } from './records';
import { IMPORT_DETAIL, IMPORT_SOURCE, lastPlain } from './codecarbonRow';
import { fromUtf8Bytes, jsonBytes as json } from './utf8Text';

/** `s` as JSON when it equals `plain`, a string known to need no escaping (codecarbonRow.ts `lastPlain`). */
function knownJson(s: string, plain: string): string {
  return s === plain ? '"' + s + '"' : json(s);
}

/** A number as JSON.stringify writes it (non-finite numbers become null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** A figure that often repeats from line to line: formatted again only when it changes. */
class NumberText {
  private x = NaN;
  private text = 'null';

  of(x: number): string {
    if (x !== this.x) {
      this.x = x;
      this.text = num(x);
    }
    return this.text;
  }
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

/** `{"v":1,"kind":"run","at":…,"run":{"id":`, the start of every line of one import. */
class LineHead {
  private at?: string;
  private text = '';

  of(at: string): string {
    if (at !== this.at) {
      this.at = at;
      this.text = `{"v":${HISTORY_FORMAT_VERSION},"kind":"run","at":${json(at)},"run":{"id":`;
    }
    return this.text;
  }
}

/** What follows the name: the command, cwd and source, up to the start time's value. */
function sourceMembers(run: Run): string {
  return run.command === '' && run.cwd === '' && run.source === IMPORT_SOURCE
    ? `,"command":"","cwd":"","source":"${IMPORT_SOURCE}","startedAt":`
    : `,"command":${json(run.command)},"cwd":${json(run.cwd)},"source":${json(run.source)},"startedAt":`;
}

/** The intensity's members after gPerKWh (the place and where the figure came from), and the object's end. */
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
        `"method":${json(method)}${optStr('factorType', factorType)}${optStr('regionReason', regionReason)}}`;
    }
    return this.text;
  }
}

/** One component's power: `{"method":…,"detail":…,"meanW":…,"lastW":…}`. */
class ComponentJson {
  private readonly lastW = new NumberText();

  of(c: ComponentPower): string {
    const head =
      c.method === 'default' && c.detail === IMPORT_DETAIL
        ? `{"method":"default","detail":"${IMPORT_DETAIL}","meanW":`
        : `{"method":${json(c.method)},"detail":${json(c.detail)},"meanW":`;
    return head + num(c.meanW) + ',"lastW":' + this.lastW.of(c.lastW) + '}';
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

const head = new LineHead();
const name = new StringJson();
const pue = new NumberText();
const pueSource = new StringJson();
const intensityRest = new IntensityRest();
const cpuPower = new ComponentJson();
const gpuPower = new ComponentJson();
const ramPower = new ComponentJson();
const cpuModel = new StringJson();
const logicalCpus = new NumberText();
const ramGB = new NumberText();
const gpusJson = new GpusJson();
const os = new StringJson();

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
  const h = run.hardware;
  const p = run.power;
  let notes = '';
  if (run.notes) {
    for (const note of run.notes) notes += notes ? ',' + json(note) : knownJson(note, lastPlain.firstNote);
    notes = `,"notes":[${notes}]`;
  }
  return (
    head.of(at) +
    knownJson(run.id, lastPlain.id) +
    ',"name":' +
    name.of(run.name) +
    sourceMembers(run) +
    knownJson(run.startedAt, lastPlain.startedAt) +
    (run.endedAt === undefined ? '' : ',"endedAt":' + knownJson(run.endedAt, lastPlain.endedAt)) +
    ',"durationS":' +
    num(run.durationS) +
    (run.status === 'completed' ? ',"status":"completed"' : ',"status":' + json(run.status)) +
    ',"cpuSeconds":' +
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
    ',"pue":' +
    pue.of(run.pue) +
    (run.pueSource === undefined ? '' : ',"pueSource":' + pueSource.of(run.pueSource)) +
    ',"intensity":{"gPerKWh":' +
    num(run.intensity.gPerKWh) +
    intensityRest.of(run.intensity) +
    ',"power":{"cpu":' +
    cpuPower.of(p.cpu) +
    ',"gpu":' +
    gpuPower.of(p.gpu) +
    ',"ram":' +
    ramPower.of(p.ram) +
    '},"hardware":{"cpuModel":' +
    cpuModel.of(h.cpuModel) +
    ',"logicalCpus":' +
    logicalCpus.of(h.logicalCpus) +
    ',"ramGB":' +
    ramGB.of(h.ramGB) +
    ',"gpus":' +
    gpusJson.of(h.gpus) +
    (h.os === undefined ? '' : ',"os":' + os.of(h.os)) +
    '}' +
    notes +
    '}}\n'
  );
}
