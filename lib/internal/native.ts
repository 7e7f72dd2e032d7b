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

/** The libc node-gyp-build picks prebuilds for (it decides the same way). */
function libc(): string {
  return process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

// Said wherever the addon or init is missing: the same facts as the install
// step's message (scripts/install.js), for installs whose npm skipped it
// (npm 11 runs a dependency's install script only once approved).
const BUILD_HINT =
  `No prebuilt addon for ${process.platform}-${process.arch}-${libc()} loads here (prebuilds ship for ` +
  'linux-x64 and linux-arm64, glibc and musl). Build one with `npm rebuild cordon` (with npm 11 or later, ' +
  'first `npm install-scripts approve cordon`); building needs python3, make, g++ and the C library and Linux ' +
  'headers: apt-get install python3 make g++ libc6-dev (Debian/Ubuntu), apk add python3 make g++ linux-headers (Alpine).';

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
    throw new CordonError('ERR_CORDON_NATIVE_MISSING', `cordon's native addon could not be loaded (${reason}). ${BUILD_HINT}`);
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
    `cordon's init binary is missing (looked in ${candidates.join(', ')}). ${BUILD_HINT}`,
  );
}
