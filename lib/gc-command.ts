// `cordon gc`: cleanup() from the command line.
import { cleanup, type CleanupOptions } from './adopt';
import { CordonOptionError } from './errors';

/** Runs `cordon gc ARGS`; resolves with the exit status (0, or 1 when a removal failed). */
export async function gcCommand(args: readonly string[]): Promise<number> {
  const options: CleanupOptions = {};
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--bridges') options.bridges = 'unlocked';
    else if (arg === '--no-bridges') options.bridges = false;
    else if (arg === '--grace-ms' || arg === '--cgroup-parent') {
      const value = args[++i];
      if (value === undefined) throw new CordonOptionError('ERR_INVALID_ARG_VALUE', arg, `${arg} needs a value`);
      if (arg === '--grace-ms') options.graceMs = Number(value);
      else options.cgroupParent = value;
    } else throw new CordonOptionError('ERR_INVALID_ARG_VALUE', arg, `cordon gc: unknown option ${JSON.stringify(arg)}`);
  }
  const report = await cleanup(options);
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...report, pending: undefined, errors: report.errors.map((error) => ({ code: error.code, path: error.path, message: error.message })) }, null, 2)}\n`);
  } else {
    const list = (what: string, items: readonly string[]): void => {
      for (const item of items) process.stdout.write(`removed ${what} ${item}\n`);
    };
    list('cgroup', report.cgroups);
    list('socket', report.sockets);
    list('directory', report.directories);
    list('record', report.records);
    list('bridge', report.bridges);
    for (const kept of report.kept) process.stdout.write(kept.path === '' ? `note: ${kept.reason}\n` : `kept ${kept.path}: ${kept.reason}\n`);
    for (const error of report.errors) process.stderr.write(`cordon gc: ${error.message}\n`);
  }
  return report.errors.length === 0 ? 0 : 1;
}
