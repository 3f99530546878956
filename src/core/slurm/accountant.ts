/**
 * Turns sacct records into runs with everything the model needs: the cluster's settings, the nodes' description
 * (`scontrol show node`, once per node per process) and the energy plugin (`scontrol show config`, once per
 * process). scontrol failing is not fatal: the run is modelled with defaults and says why.
 */
import * as os from 'node:os';
import type { Run } from '../types';
import { firstNode, groupJobs, jobToRun, type AccountOptions, type SlurmJob } from './account';

export { firstNode };
import type { SlurmCommands } from './commands';
import { resolveCluster, type ClusterConfig, type ClustersConfig } from './config';
import type { SlurmRecord } from './parse';
import type { ControllerJob, NodeInfo } from './scontrol';
import { errorMessage } from '../errors';

export interface AccountantOptions {
  /** the per-cluster settings, read when a job is accounted (so a changed setting applies to the next job) */
  clusters: () => ClustersConfig;
  overrides?: ClusterConfig;
  overridesFrom?: Partial<Record<keyof ClusterConfig, string>>;
  settingName?: string;
  /** the general region and PUE (carbonMeter.region/pue, CARBON_METER_REGION/PUE), for clusters without their own */
  fallbackRegion?: () => { region?: string; from?: string; pue?: number; pueFrom?: string };
  /**
   * this machine's CPU, for jobs that ran on it; a function is called once, when the first job is accounted (so that
   * nothing reads the hardware until there is a job)
   */
  localHost?: AccountOptions['localHost'] | (() => Promise<AccountOptions['localHost']>);
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export class SlurmAccountant {
  private readonly nodeCache = new Map<string, NodeInfo | undefined>();
  private config: Promise<Record<string, string> | undefined> | undefined;
  private localHost: Promise<AccountOptions['localHost']> | undefined;

  constructor(
    private readonly commands: SlurmCommands,
    private readonly opts: AccountantOptions,
  ) {}

  /** The energy plugin and cluster name of the local SLURM configuration (asked once). */
  private slurmConfig(): Promise<Record<string, string> | undefined> {
    this.config ??= this.commands.config().catch((err) => {
      this.opts.log?.('warn', `scontrol show config: ${errorMessage(err)}; the energy plugin is unknown`);
      return undefined;
    });
    return this.config;
  }

  /** This machine (asked once, at the first job). */
  private host(): Promise<AccountOptions['localHost']> {
    const l = this.opts.localHost;
    this.localHost ??= typeof l === 'function' ? l() : Promise.resolve(l);
    return this.localHost;
  }

  private async node(nodeList: string | undefined): Promise<NodeInfo | undefined> {
    const first = firstNode(nodeList);
    if (!first) return undefined;
    if (this.nodeCache.has(first)) return this.nodeCache.get(first);
    let info: NodeInfo | undefined;
    try {
      info = (await this.commands.nodes(first))[0];
    } catch (err) {
      this.opts.log?.(
        'warn',
        `scontrol show node ${first}: ${errorMessage(err)}; CPU power from the cluster settings or defaults`,
      );
    }
    this.nodeCache.set(first, info);
    return info;
  }

  /**
   * slurmdbd may hear of a job's batch step before the job's own start: for a while sacct then shows the job with
   * the placeholder name "allocation" and no WorkDir, even once it is COMPLETED. The controller still has both
   * (for MinJobAge after the end), so they are taken from `scontrol show job`; one call, only for such a record.
   */
  private async completed(j: SlurmJob): Promise<SlurmJob> {
    if (j.job.workDir) return j;
    let known: ControllerJob | undefined;
    try {
      known = await this.commands.job(j.job.jobId);
    } catch (err) {
      this.opts.log?.('warn', `scontrol show job ${j.job.jobId}: ${errorMessage(err)}; the job's folder is unknown`);
    }
    if (!known?.workDir) return j;
    return { ...j, job: { ...j.job, workDir: known.workDir, name: known.name ?? j.job.name } };
  }

  async run(job: SlurmJob, now = Date.now()): Promise<Run> {
    const j = await this.completed(job);
    const cfg = await this.slurmConfig();
    const clusterName = j.job.cluster ?? cfg?.ClusterName ?? 'cluster';
    const fb = this.opts.fallbackRegion?.() ?? {};
    const cluster = resolveCluster(clusterName, this.opts.clusters(), {
      overrides: this.opts.overrides,
      overridesFrom: this.opts.overridesFrom,
      settingName: this.opts.settingName,
      fallbackRegion: fb.region,
      fallbackRegionFrom: fb.from,
      fallbackPue: fb.pue,
      fallbackPueFrom: fb.pueFrom,
    });
    const node = await this.node(j.job.nodeList);
    const energyPlugin =
      cfg?.AcctGatherEnergyType && !/\/none$/.test(cfg.AcctGatherEnergyType) ? cfg.AcctGatherEnergyType : undefined;
    return jobToRun(j, { cluster, node, energyPlugin, localHost: await this.host(), now });
  }

  async runs(records: SlurmRecord[], now = Date.now()): Promise<Run[]> {
    const out: Run[] = [];
    for (const j of groupJobs(records)) {
      if (/[[\]]/.test(j.job.jobId)) continue; // "123_[4-9]": array tasks not started yet, no run
      out.push(await this.run(j, now));
    }
    return out;
  }
}

/** This machine's short host name and CPU, for `localHost`. */
export function localHostOf(hw: {
  cpuModel: string;
  logicalCpus: number;
  sockets?: number;
}): NonNullable<AccountOptions['localHost']> {
  return { hostname: os.hostname().split('.')[0], ...hw };
}
