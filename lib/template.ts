// compileBox(): a box template: options compiled once (lib/compiled-options.ts),
// then any number of boxes of them, each with its own resources.
import type { Box } from './box';
import { CompiledOptions } from './compiled-options';
import { traceSpawn, traceSpawnAsync } from './diagnostics';
import { ownSnapshot } from './internal/checks';
import { assertLinux } from './internal/native';
import type { BoxOverrides, SpawnIsolatedOptions } from './options';
import { argsGiven, fileName, launchBox, startBox, startBoxAsync } from './spawn';

export { PlanCache, quickShapeKey, slowShapeKey } from './compiled-options';

/** A compiled box: spawn as many boxes of it as wanted, each with its own resources. */
export interface BoxTemplate {
  /** As spawnIsolated(file, args, options) with the template's options (and `overrides`). */
  spawn(file: string | URL, args?: readonly string[], overrides?: BoxOverrides): Box;
  /** As spawnIsolatedAsync(file, args, options) with the template's options (and `overrides`). */
  spawnAsync(file: string | URL, args?: readonly string[], overrides?: BoxOverrides): Promise<Box>;
}

/**
 * Validates `options` once (throwing the CordonOptionError spawnIsolated()
 * would throw for them) and returns a template whose boxes skip the
 * validation, the planning and the encoding: see BoxTemplate. Per box only
 * the file, args and `overrides` are checked.
 */
export function compileBox(options?: SpawnIsolatedOptions): BoxTemplate {
  // Read once (validateOptions() takes the same snapshot first, with the same
  // errors): a getter cannot answer the template one thing and its boxes another.
  const compiled = new CompiledOptions(ownSnapshot(options, ''));
  assertLinux();
  return Object.freeze({
    spawn(file: string | URL, args?: readonly string[], overrides?: BoxOverrides): Box {
      return traceSpawn(fileName(file), argsGiven(args), ({ timer }) => {
        const startedAt = process.hrtime.bigint();
        const validated = compiled.validatedFor(file, args, overrides);
        timer?.phase('validate');
        return startBox(launchBox(validated, startedAt, timer, compiled.planner));
      });
    },
    async spawnAsync(file: string | URL, args?: readonly string[], overrides?: BoxOverrides): Promise<Box> {
      return traceSpawnAsync(fileName(file), argsGiven(args), async ({ timer }) => {
        const startedAt = process.hrtime.bigint();
        const validated = compiled.validatedFor(file, args, overrides);
        timer?.phase('validate');
        return startBoxAsync(launchBox(validated, startedAt, timer, compiled.planner, undefined, true));
      });
    },
  });
}

