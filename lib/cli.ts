#!/usr/bin/env node
// cordon run [options] -- CMD [ARGS...]   |   cordon probe
// The CLI builds the same options object as the API; --config FILE takes it
// as JSON and flags on the command line override it. The flags are one
// table, lib/cli-flags.ts, which also makes --help (lib/cli-docs.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { parseRunArgs, tokenizeRunArgs, UsageError } from './cli-flags';
import { renderHelp } from './cli-docs';
import { reportStatus } from './cli-status';
import { CordonError, CordonOptionError } from './errors';
import { NAMESPACE_NAMES } from './options';
import { ociMain } from './oci/runtime';
import { probe } from './probe';
import { spawnIsolated } from './spawn';
import { gcCommand } from './gc-command';
import { attachTerminal, terminalRefusal, terminalSize } from './cli-tty';

const USAGE = renderHelp();

/**
 * run's arguments → spawnIsolated's options and the command (see
 * lib/cli-flags.ts). Throws a UsageError for a command line cordon refuses.
 */
export function optionsFromArgs(argv: string[]): ReturnType<typeof parseRunArgs> {
  return parseRunArgs(argv);
}

function fail(message: string): never {
  process.stderr.write(`cordon: ${message}\n`);
  process.exit(125);
}

async function run(argv: string[]): Promise<number> {
  // A UsageError (a command line cordon refuses) ends in main's catch: one line, exit 125.
  const tokens = tokenizeRunArgs(argv);
  if (tokens.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseRunArgs(tokens);
  const [file, ...args] = parsed.command;
  if (file === undefined) fail(`run needs a command (cordon run [options] [--] CMD [ARGS...]); see cordon --help`);
  let options = parsed.options;
  const wantsTty = options.tty !== undefined && options.tty !== false;
  if (wantsTty) {
    const refusal = terminalRefusal();
    if (refusal !== undefined) fail(refusal);
    if (options.tty === true) options = { ...options, tty: terminalSize() };
  }
  const box = spawnIsolated(file, args, options);
  box.on('error', () => undefined); // reported through box.exited below
  const reportExit = reportStatus(box, parsed.cli, (message) => process.stderr.write(`cordon: ${message}\n`));
  // -t: this terminal drives the box's until the box has ended (restored on every way out).
  const restoreTerminal = wantsTty && box.pid !== undefined ? attachTerminal(box) : undefined;
  if (box.network !== undefined) {
    const n = box.network;
    process.stderr.write(`cordon: network ${n.bridge} ${n.address}/${n.prefix} via ${n.gateway} (reach ${n.reach})\n`);
  }
  // Signals to the CLI go to the box; its exit decides ours.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
    process.on(signal, () => box.kill(signal));
  }
  try {
    const result = await box.exited.finally(() => restoreTerminal?.());
    const status = result.signal !== null ? 128 + ((os.constants.signals as Record<string, number>)[result.signal] ?? 0) : (result.code ?? 1);
    reportExit(status);
    return status;
  } catch (error) {
    const failure = error as CordonError;
    process.stderr.write(`cordon: ${failure.message}\n`);
    return failure.code === 'ENOENT' && failure.step === 'execve' ? 127 : failure.step === 'execve' ? 126 : 125;
  }
}

function printProbe(json: boolean): void {
  const report = probe();
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const line = (name: string, ok: boolean, detail = ''): void => {
    process.stdout.write(`${ok ? 'yes' : 'no '}  ${name}${detail ? `  (${detail})` : ''}\n`);
  };
  process.stdout.write(`cordon probe: linux ${report.kernel} ${report.arch}, ${report.root ? 'root' : 'unprivileged'}\n`);
  line('user namespaces', report.userNamespaces.available, report.userNamespaces.reason);
  for (const name of NAMESPACE_NAMES) {
    if (name === 'user') continue;
    const ns = report.namespaces[name];
    line(`${name} namespace`, ns.available, ns.reason);
  }
  line(`clone ladder rung: ${report.clone.rung}`, report.clone.rung !== 'none');
  line('clone3', report.clone.clone3.available, report.clone.clone3.reason);
  line('CLONE_CLEAR_SIGHAND', report.clone.clearSighand.available, report.clone.clearSighand.reason);
  line('CLONE_INTO_CGROUP', report.clone.intoCgroup.available, report.clone.intoCgroup.reason);
  line('pidfd', report.clone.pidfd.available, report.clone.pidfd.reason);
  const cgroup = report.cgroup;
  line(`cgroups: ${cgroup.mode}`, cgroup.mode !== 'none',
    `v2 controllers: ${cgroup.v2Controllers.join(' ') || 'none'}; writable: ${cgroup.writableControllers.join(' ') || 'none'}`);
  line('overlayfs in a user namespace', report.overlayInUserNamespace.available, report.overlayInUserNamespace.reason);
  line('new mount API', report.mountApi.available, report.mountApi.reason);
  line('idmapped mounts', report.idmappedMounts.available, report.idmappedMounts.reason);
  line(`landlock (ABI ${report.landlock.abi})`, report.landlock.available, report.landlock.reason);
  const ranges = report.idRanges;
  // Root writes any id map itself; only an unprivileged caller needs ranges.
  if (report.root) line('subordinate id ranges', true, 'not needed: root maps any ids');
  else {
    line('subordinate id ranges', ranges.uid.length > 0 && ranges.helpers,
      `uid ${ranges.uid.map((r) => `${r.start}+${r.count}`).join(' ') || 'none'}, gid ${ranges.gid.map((r) => `${r.start}+${r.count}`).join(' ') || 'none'}${ranges.helpers ? '' : '; newuidmap/newgidmap missing'}`);
  }
  line('seccomp filters', report.seccomp.available, report.seccomp.reason ?? report.seccomp.actions.join(' '));
  const counters = report.kernelCounters;
  line('per-box kernel counter limits', counters.available, counters.reason ??
    `inotify instances ${counters.boxDefaults.inotifyInstances ?? '-'} of ${counters.caller.inotifyInstances ?? '-'} per box; ` +
    `${counters.boxesThatFit ?? '-'} boxes at their full share leave the caller one`);
  line("userNamespaceOwner 'box'", counters.namespaceOwner.available, counters.namespaceOwner.reason);
  line('init from a sealed copy', report.init.sealed.available, report.init.sealed.reason);
  line('bridge networking', report.network.bridge.available, report.network.bridge.reason);
  line("namespace pool 'net'", report.network.pool.net.available, report.network.pool.net.reason);
  line("namespace pool 'user+net'", report.network.pool.userNet.available, report.network.pool.userNet.reason);
  line('tenant cgroups', report.tenants.cgroups.available, report.tenants.cgroups.reason);
  line('adoption (dieWithParent: false)', report.tenants.adoption.available, report.tenants.adoption.reason ?? report.tenants.adoption.stateDir);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      process.exitCode = await run(rest);
      return;
    case 'probe':
      printProbe(rest.includes('--json'));
      return;
    case 'gc':
      process.exitCode = await gcCommand(rest);
      return;
    case 'oci':
      process.exitCode = await ociMain(rest);
      return;
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)}; see cordon --help`);
  }
}

function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

if (require.main === module) {
  // One message and exit 125 for whatever escapes, never a stack trace
  // (CORDON_DEBUG=1 adds it, for a bug report).
  main(process.argv.slice(2)).catch((error: unknown) => {
    if (error instanceof CordonOptionError || error instanceof CordonError || error instanceof UsageError) fail(error.message);
    const message = error instanceof Error ? error.message : String(error);
    if (process.env.CORDON_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    fail(`${message} (an unexpected failure: please report it with CORDON_DEBUG=1 set)`);
  });
}
