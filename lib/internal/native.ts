// Loads the addon lazily, on first use, so that importing cordon never fails
// (not on another OS, not without a build) and the error, when it comes, says
// what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { NativeBinding } from '../../types/native';
import { CordonError } from '../errors';
import { PLAN_ABI_VERSION } from './plan-abi';

const packageRoot = path.join(__dirname, '..', '..');
let binding: NativeBinding | undefined;
let override: NativeBinding | undefined;

export function assertLinux(): void {
  if (process.platform !== 'linux') {
    throw new CordonError(
      'ERR_CORDON_UNSUPPORTED_PLATFORM',
      `cordon runs processes with Linux namespaces and cannot run on ${process.platform}`,
    );
  }
}

/** Uses `native` instead of the compiled addon (tests, custom builds). */
export function setNativeBinding(native: NativeBinding | undefined): void {
  override = native;
}

export function native(): NativeBinding {
  if (override) return override;
  if (binding) return binding;
  assertLinux();
  let loaded: NativeBinding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => unknown;
    loaded = load(packageRoot) as NativeBinding;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CordonError(
      'ERR_CORDON_NATIVE_MISSING',
      `cordon's native addon could not be loaded (${reason}). ` +
        'Build it with `npm rebuild cordon` (needs python3, make and a C++ compiler) ' +
        'or install on linux-x64/arm64 with glibc to use the prebuilt one.',
    );
  }
  if (loaded.abiVersion !== PLAN_ABI_VERSION) {
    throw new CordonError(
      'ERR_CORDON_NATIVE_MISMATCH',
      `cordon's native addon speaks plan ABI ${loaded.abiVersion}, its JavaScript ${PLAN_ABI_VERSION}: ` +
        'the build is stale; run `npm rebuild cordon`.',
    );
  }
  binding = loaded;
  return binding;
}

/** Path of the static init binary that runs as PID 1 of a box. */
export function initBinaryPath(): string {
  const candidates = [
    path.join(packageRoot, 'build', 'Release', 'cordon_init'),
    path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'cordon_init'),
  ];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new CordonError(
    'ERR_CORDON_NATIVE_MISSING',
    `cordon's init binary is missing (looked in ${candidates.join(', ')}); run \`npm rebuild cordon\``,
  );
}
