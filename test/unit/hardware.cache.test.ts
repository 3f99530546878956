/**
 * The hardware inventory is read once, but the GPU list is fixed only by a caller that can list GPUs: SLURM
 * accounting, which asks first in the extension and lists none, must not leave the meter's runs without their GPUs.
 */
import * as assert from 'node:assert/strict';
import type * as HardwareModule from '../../src/core/hardware';
import type { GpuInfo } from '../../src/core/types';

/** A fresh copy of the module, with its own cache. */
function freshHardware(): typeof HardwareModule {
  const id = require.resolve('../../src/core/hardware');
  delete require.cache[id];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as typeof HardwareModule;
}

const gpu: GpuInfo = { index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-1', memoryMB: 81559 };

describe('hardware inventory cache', () => {
  it('a caller without a GPU lister does not fix an empty GPU list for the callers after it', async () => {
    const hw = freshHardware();
    const first = await hw.getHardware();
    assert.deepEqual(first.gpus, []);
    assert.ok(first.cpuModel.length > 0 && first.logicalCpus >= 1);
    let listed = 0;
    const second = await hw.getHardware({ gpus: async () => (listed++, [gpu]) });
    assert.deepEqual(second.gpus, [gpu]);
    assert.equal(second.cpuModel, first.cpuModel, 'the machine is read once');
    const third = await hw.getHardware({ gpus: async () => (listed++, []) });
    assert.deepEqual(third.gpus, [gpu], 'the GPUs are listed once');
    assert.deepEqual((await hw.getHardware()).gpus, [gpu], 'later callers without a lister get the list');
    assert.equal(listed, 1);
  });

  it('a lister that fails gives no GPUs, once', async () => {
    const hw = freshHardware();
    let calls = 0;
    const lister = async (): Promise<GpuInfo[]> => {
      calls++;
      throw new Error('nvidia-smi hung');
    };
    assert.deepEqual((await hw.getHardware({ gpus: lister })).gpus, []);
    assert.deepEqual((await hw.getHardware({ gpus: lister })).gpus, []);
    assert.equal(calls, 1, 'a failing tool is not retried');
  });
});
