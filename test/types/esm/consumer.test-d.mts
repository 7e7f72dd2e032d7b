// An ESM TypeScript user (module node16/nodenext) importing the package by
// name: the import condition's types (dist/index.d.mts) describe the ESM
// entry, named exports and the default alike. Compiled without
// esnext.disposable in lib, as a user's project may be.
import cordon, { spawnIsolated, probe, CordonError, type Box, type ExitResult } from 'cordon';

async function esmUser(): Promise<void> {
  const box: Box = spawnIsolated('/bin/true', [], { stdio: 'ignore' });
  const result: ExitResult = await box.exited;
  const same: typeof spawnIsolated = cordon.spawnIsolated;
  const rung: string = probe().clone.rung;
  box.on('error', (error) => void (error instanceof CordonError && error.step));
  // @ts-expect-error no such event
  box.on('exitt', () => undefined);
  // @ts-expect-error no such export
  void cordon.spawnIsolatd;
  void [result, same, rung];
}

void esmUser;
