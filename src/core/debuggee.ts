/**
 * Which debuggee a debug session's run meters, and from when: decided from the session's configuration and the
 * adapter's DAP `process` event, the same way for every debug type (debugpy, js-debug, …). Pure: no `vscode`.
 *
 * - `launch`: the adapter started the process for the session, so everything it used since it started counts.
 * - `attach`: the process may have run for hours before; only what it uses from the attach on counts. Attaching
 *   over the network (`connect.host`, or the older `host`) to another machine gives that machine's pid, which
 *   means nothing here: such a session is not metered (the CLI meters it there).
 * - debugpy's subprocess sessions (`subProcessId`, started for `"subProcess": true` under the parent session) are
 *   children of the parent's debuggee: they are in the parent's run (its process tree), never a run of their own.
 */
import * as os from 'node:os';

export type DebuggeePlan = { meter: true; countFromProcessStart: boolean; why: string } | { meter: false; why: string };

/** The fields of a debug configuration this module reads (any debug type; unknown shapes are tolerated). */
export type DebugConfigurationLike = Record<string, unknown>;

/** The `process` event's body (DAP): `isLocalProcess` is relative to the adapter, which may itself be remote. */
export interface DapProcessEventBody {
  systemProcessId?: number;
  isLocalProcess?: boolean;
  startMethod?: string;
  name?: string;
}

/** A debugpy subprocess session: `subProcessId` is set by debugpy's `debugpyAttach` event. */
export function isSubprocessSession(config: DebugConfigurationLike): boolean {
  return config.subProcessId !== undefined && config.subProcessId !== null;
}

/** The host an `attach` configuration connects to, if it connects to one (`connect.host`, or `host` with `port`). */
export function attachHost(config: DebugConfigurationLike): string | undefined {
  const connect = config.connect;
  if (connect && typeof connect === 'object') {
    const host = (connect as Record<string, unknown>).host;
    return typeof host === 'string' && host.trim() ? host.trim() : '127.0.0.1';
  }
  if (config.port !== undefined)
    return typeof config.host === 'string' && config.host.trim() ? config.host.trim() : '127.0.0.1';
  return undefined;
}

/** Names and addresses of this machine: loopback, the host name, every interface address. */
export function localHostNames(): Set<string> {
  const names = new Set(['localhost', 'ip6-localhost', '::1', '0.0.0.0', '::', os.hostname().toLowerCase()]);
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) names.add(a.address.toLowerCase());
  }
  return names;
}

/** Is `host` this machine? Loopback addresses (127/8, ::1, localhost and *.localhost) or one of `local`. */
export function isLocalHost(host: string, local: ReadonlySet<string>): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (
    /^127(?:\.\d{1,3}){3}$/.test(h) ||
    /^::ffff:127(?:\.\d{1,3}){3}$/.test(h) ||
    h === 'localhost' ||
    h.endsWith('.localhost')
  )
    return true;
  return local.has(h);
}

/**
 * Whether and how to meter the debuggee of a session. `config` is the configuration of the session the process
 * event came from; `rootConfig` that of its root session (the one the user started), which says launch or attach.
 */
export function planDebuggee(
  config: DebugConfigurationLike,
  rootConfig: DebugConfigurationLike,
  local: ReadonlySet<string>,
  processEvent?: DapProcessEventBody,
): DebuggeePlan {
  if (isSubprocessSession(config)) {
    return {
      meter: false,
      why: `a subprocess session (subProcessId ${String(config.subProcessId)}): its process is a child of the parent session's debuggee and is metered in that run`,
    };
  }
  if (processEvent?.isLocalProcess === false)
    return { meter: false, why: 'the adapter reports the debuggee as a process on another machine' };
  if (rootConfig.request === 'attach') {
    const host = attachHost(rootConfig);
    if (host !== undefined && !isLocalHost(host, local)) {
      return {
        meter: false,
        why: `the debuggee runs on ${host}, not on this machine: meter it there with \`carbon-meter run\``,
      };
    }
    return {
      meter: true,
      countFromProcessStart: false,
      why: 'attached to a running process: what it uses from now on counts',
    };
  }
  return {
    meter: true,
    countFromProcessStart: true,
    why: 'started for the session: everything since the process started counts',
  };
}
