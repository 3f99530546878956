import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLinux } from '../../src/core/hardware';

describe('hardware inventory on Linux, from files (no systeminformation, no shelling out)', () => {
  it('counts sockets by physical id and names the distribution as systeminformation does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-hw-'));
    const etc = path.join(dir, 'etc');
    fs.mkdirSync(etc);
    fs.writeFileSync(
      path.join(etc, 'os-release'),
      'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble Numbat)"\n',
    );
    const cpuinfo = path.join(dir, 'cpuinfo');
    fs.writeFileSync(
      cpuinfo,
      [
        'processor\t: 0',
        'physical id\t: 0',
        '',
        'processor\t: 1',
        'physical id\t: 1',
        '',
        'processor\t: 2',
        'physical id\t: 1',
        '',
      ].join('\n'),
    );
    const r = readLinux(etc, cpuinfo, path.join(dir, 'none'));
    assert.equal(r.sockets, 2);
    assert.equal(r.distro, 'Ubuntu 24.04.1 LTS');
    fs.writeFileSync(path.join(etc, 'lsb-release'), 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=24.04\n');
    assert.equal(readLinux(etc, cpuinfo, path.join(dir, 'none')).distro, 'Ubuntu 24.04.1 LTS');
  });

  it('says one socket when cpuinfo names none (ARM) and no distribution when nothing is readable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-hw-'));
    const cpuinfo = path.join(dir, 'cpuinfo');
    fs.writeFileSync(cpuinfo, 'processor\t: 0\nBogoMIPS\t: 50.00\n');
    assert.equal(readLinux(path.join(dir, 'no-etc'), cpuinfo, path.join(dir, 'none')).sockets, 1);
    const none = readLinux(path.join(dir, 'no-etc'), path.join(dir, 'none'), path.join(dir, 'none'));
    assert.deepEqual(none, { sockets: 1, distro: undefined });
  });
});
