// The error every OCI mapping throws: a CordonOptionError whose `option` is
// the JSON path of the field at fault in config.json (or in an image layout).
import { CordonError, CordonOptionError } from '../errors';
import type { CordonErrorCode } from '../errors';

/**
 * A field of an OCI runtime config cordon cannot honour, or a malformed one.
 * `option` (and `jsonPath`, its alias) is the field's JSON path, e.g.
 * `linux.seccomp.syscalls[3].args` or `mounts[2].options[1]`. Codes:
 * - `ERR_CORDON_OCI_UNSUPPORTED`: a valid field cordon has no way to honour;
 * - `ERR_CORDON_UNKNOWN_OPTION`: a field the runtime spec does not define;
 * - `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`: a malformed value.
 */
export class OciConfigError extends CordonOptionError {
  /** The JSON path of the field at fault (the same as `option`). */
  readonly jsonPath: string;

  constructor(code: CordonErrorCode, jsonPath: string, message: string, details: { cause?: unknown } = {}) {
    super(code, jsonPath, message, details);
    this.name = 'OciConfigError';
    this.jsonPath = jsonPath;
  }
}

/** A field the spec defines but cordon cannot honour. */
export function unsupported(jsonPath: string, why: string): OciConfigError {
  return new OciConfigError('ERR_CORDON_OCI_UNSUPPORTED', jsonPath, `The OCI config field "${jsonPath}" is not supported by cordon: ${why}`);
}

export function badType(jsonPath: string, expected: string, value: unknown): OciConfigError {
  const shown = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new OciConfigError('ERR_INVALID_ARG_TYPE', jsonPath, `The OCI config field "${jsonPath}" must be ${expected}. Received ${shown}`);
}

export function badValue(jsonPath: string, value: unknown, reason: string): OciConfigError {
  let shown: string;
  try {
    shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    shown = typeof value;
  }
  return new OciConfigError('ERR_INVALID_ARG_VALUE', jsonPath, `The OCI config field "${jsonPath}" ${reason}. Received ${shown}`);
}

export function unknownField(jsonPath: string): OciConfigError {
  return new OciConfigError(
    'ERR_CORDON_UNKNOWN_OPTION',
    jsonPath,
    `Unknown OCI config field "${jsonPath}": the runtime spec (1.x) defines no such field, and cordon does not drop fields it does not know`,
  );
}

/**
 * An OCI image (layout, archive, manifest, config or layer) cordon refuses:
 * a digest that does not match, a layer entry that would escape its
 * directory, a device node for an unprivileged caller, an unsupported media
 * type. A CordonError with code `ERR_CORDON_OCI_IMAGE`, `path` the file or
 * layer entry at fault and `digest` the blob it is in, when known.
 */
export class OciImageError extends CordonError {
  /** The blob (layer, manifest, config) the fault is in. */
  readonly digest?: string;

  constructor(message: string, details: { path?: string; digest?: string; cause?: unknown } = {}) {
    super('ERR_CORDON_OCI_IMAGE', message, {
      ...(details.path === undefined ? {} : { path: details.path }),
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.name = 'OciImageError';
    if (details.digest !== undefined) this.digest = details.digest;
  }
}
