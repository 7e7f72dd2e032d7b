// OCI image layouts → a layer store of read-only directories, usable as
// `rootfs: { layers, upper }`. An image layout (a directory with
// `oci-layout`, `index.json` and `blobs/`, or the same in a tar archive, as
// `skopeo copy`, `podman save --format oci-dir|oci-archive` and `buildah
// push` write) is read; each layer is verified (the blob's digest and size,
// and the digest of its uncompressed tar against the config's diff_ids),
// unpacked once into `<store>/layers/<alg>/<diff id>/` and shared by every
// image that has it. Whiteouts become overlayfs's own form: a `.wh.NAME`
// entry a character device 0/0 (Linux lets any user make one since 5.8),
// an opaque directory (`.wh..wh..opq`) the xattr `user.overlay.opaque=y`
// (what overlayfs reads when cordon mounts it in the box's user namespace,
// with `userxattr`) and, for a root caller, `trusted.overlay.opaque=y` too
// (what it reads without a user namespace).
//
// Why tar-stream: it hands over each entry's header before anything is
// written, so every entry is checked (name, type, link target, what its
// parents are) and then made by cordon itself with O_EXCL | O_NOFOLLOW;
// a full extractor (`tar`) would make the entries itself and leave the
// checks to its own options. gzip comes from Node's zlib (and zstd where
// this Node's zlib has it). No native dependency: the two calls Node lacks
// (mknod of a whiteout, setxattr) are cordon's own (native/host/layers.cc).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, Writable } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

import { CordonError, CordonOptionError } from '../errors';
import type { IdMapEntry } from '../options';
import { OciImageError } from './errors';
import { LayerUnpacker } from './layers';
import type { Owners, SkippedEntry } from './layers';

/** Options of importOciImage. */
export interface ImportOciImageOptions {
  /**
   * The layer store: a directory (made if missing, 0755) that keeps each
   * layer once, under `layers/<alg>/<diff id>/`, for every image imported
   * into it. Boxes' template layers come from here, so the box's root must
   * be able to reach it (0755 down to the store). It must be the caller's,
   * not a symbolic link, writable by no one else; `layers/` is opened to
   * the box's root alone (root callers: its group the box root's gid, 0750).
   */
  readonly store: string;
  /**
   * Which image of the layout, by its `org.opencontainers.image.ref.name`
   * annotation (e.g. `latest`, or the full name `podman save` writes).
   * Default: the layout's only image.
   */
  readonly ref?: string;
  /**
   * Root callers: who owns the unpacked files on the host, as the uid_map
   * of the boxes that will run the image (the same `IdMapEntry` lines as
   * `uidMap`): a file the layer gives to uid N is owned by the host uid
   * that N maps to, so the box sees it as N's and can copy it up. An id
   * the map lacks gets the host id of the box's root. Default: cordon's
   * default map for a root caller, `[{ inside: 0, outside: 65534, count: 1 }]`.
   * A store keeps the maps it was made with (`idmap.json`): importing with
   * others into it is refused. Unprivileged callers cannot chown: every
   * file is the caller's, which is the box's root by default; giving a map
   * then is an error.
   */
  readonly uidMap?: readonly IdMapEntry[];
  /** Root callers: as `uidMap`, for groups. Default `[{ inside: 0, outside: 65534, count: 1 }]`. */
  readonly gidMap?: readonly IdMapEntry[];
  /**
   * The most bytes one layer's uncompressed tar may hold (default
   * `DEFAULT_MAX_LAYER_BYTES`, 8 GiB): a small blob that inflates past it
   * (a gzip bomb) is refused as it unpacks, before it fills the store's
   * disk. Raise it for images with larger layers.
   */
  readonly maxLayerBytes?: number;
}

/** importOciImage's default `maxLayerBytes`: 8 GiB of uncompressed tar per layer. */
export const DEFAULT_MAX_LAYER_BYTES = 8 * 2 ** 30;

/** What importOciImage returns. */
export interface OciImage {
  /** The layer directories, top-most first: `rootfs: { layers: image.layers, upper }`. */
  readonly layers: readonly string[];
  /** The manifest's digest (`sha256:...`). */
  readonly digest: string;
  /** The image config's defaults for the process (`config` of the image config), as given. */
  readonly config: {
    readonly env: readonly string[];
    readonly entrypoint: readonly string[];
    readonly cmd: readonly string[];
    readonly workingDir: string;
    readonly user: string;
  };
  /** Entries of the layers cordon left out (as root: device nodes and fifos, which a box's nodev root could not use). */
  readonly skipped: readonly { readonly layer: string; readonly path: string; readonly reason: string }[];
}

/** tar-stream, loaded on the first import: `require('cordon')` does not pay for it. */
function extract(): ReturnType<typeof import('tar-stream').extract> {
  return (require('tar-stream') as typeof import('tar-stream')).extract();
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const LAYER_TYPES: Readonly<Record<string, 'none' | 'gzip' | 'zstd'>> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
};
const REF_NAME = 'org.opencontainers.image.ref.name';
/** The largest index, manifest or config read (containers/image's limit too): an image's JSON is never read whole into memory unbounded. */
const MAX_JSON_BLOB = 4 * 1024 * 1024;
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/**
 * Imports an OCI image layout (a directory, or a tar archive of one) into
 * the layer store `options.store`. Throws an OciImageError (a CordonError,
 * code `ERR_CORDON_OCI_IMAGE`) for a bad or unsupported image, a digest that
 * does not match, or a layer that would reach outside its directory; a
 * CordonError with the errno for a host failure. Nothing half-made stays in
 * the store: a layer is unpacked into a staging directory and moved into
 * place once verified.
 */
export async function importOciImage(source: string, options: ImportOciImageOptions): Promise<OciImage> {
  try {
    return await importImage(source, options);
  } catch (error) {
    throw asCordonError(error);
  }
}


const DEFAULT_MAP: readonly IdMapEntry[] = [{ inside: 0, outside: 65534, count: 1 }];

function checkMap(option: string, value: unknown): IdMapEntry[] {
  if (!Array.isArray(value) || value.length === 0) throw new CordonOptionError('ERR_INVALID_ARG_TYPE', option, `The "${option}" option must be a non-empty array of { inside, outside, count }`);
  return value.map((entry: unknown, i) => {
    const e = entry as Partial<IdMapEntry> | null;
    const ok = (n: unknown, min: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= 0xfffffffe;
    if (typeof e !== 'object' || e === null || !ok(e.inside, 0) || !ok(e.outside, 0) || !ok(e.count, 1)) {
      throw new CordonOptionError('ERR_INVALID_ARG_VALUE', `${option}[${i}]`, `The "${option}[${i}]" option must be { inside, outside, count } with ids from 0 and a count from 1`);
    }
    return { inside: e.inside, outside: e.outside, count: e.count };
  });
}

/** The owners of a store's files, recorded in it so that every layer of it agrees. */
function storeOwners(store: string, options: ImportOciImageOptions): Owners {
  const privileged = process.geteuid?.() === 0;
  if (!privileged && (options.uidMap !== undefined || options.gidMap !== undefined)) {
    throw new CordonOptionError('ERR_CORDON_CONFLICTING_OPTIONS', options.uidMap !== undefined ? 'uidMap' : 'gidMap', 'An unprivileged caller cannot give layer files other owners: they are its own (the box\'s root, by default)');
  }
  const maps = privileged ? { uidMap: checkMap('uidMap', options.uidMap ?? DEFAULT_MAP), gidMap: checkMap('gidMap', options.gidMap ?? DEFAULT_MAP) } : undefined;
  const record = maps ?? { caller: process.geteuid?.() ?? 0 };
  const file = path.join(store, 'idmap.json');
  const text = `${JSON.stringify(record)}\n`;
  try {
    fs.writeFileSync(file, text, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const before = fs.readFileSync(file, 'utf8');
    if (before !== text) {
      throw new CordonOptionError('ERR_CORDON_CONFLICTING_OPTIONS', 'store', `The layer store ${store} holds layers owned for other ids (${before.trim()}); use one store per id mapping`);
    }
  }
  if (maps === undefined) return { uid: (id) => id, gid: (id) => id };
  const lookup = (map: readonly IdMapEntry[]) => (id: number): number => {
    const line = map.find((entry) => id >= entry.inside && id < entry.inside + entry.count) ?? map.find((entry) => entry.inside === 0);
    return line === undefined ? 65534 : line.outside + (id >= line.inside && id < line.inside + line.count ? id - line.inside : 0);
  };
  return { uid: lookup(maps.uidMap), gid: lookup(maps.gidMap) };
}

/**
 * A stored layer is taken as verified: the store must be the caller's own
 * directory (not a link), writable by no one else, or another user could
 * plant a layer under a popular image's diff id.
 */
function checkStore(store: string): void {
  const stat = fs.lstatSync(store);
  const uid = process.geteuid?.() ?? 0;
  const why = stat.isSymbolicLink() || !stat.isDirectory()
    ? 'is not a directory (a symbolic link is not followed)'
    : stat.uid !== uid
      ? `is owned by uid ${stat.uid}, not by this user (${uid})`
      : (stat.mode & 0o022) !== 0 ? `is writable by others (mode ${(stat.mode & 0o7777).toString(8)})` : undefined;
  if (why !== undefined) throw new OciImageError(`The layer store ${store} ${why}: a layer found there is trusted as verified`, { path: store });
}

/**
 * `<store>/layers` is open to the boxes' root alone (root callers: its
 * group is the box root's host gid, 0750; unprivileged: the caller, who is
 * the box's root, 0700): the box's root looks the layers up when it binds
 * them, and no other host user may reach an image's world-writable
 * directories or files, which every box of the image would see.
 */
function closeLayers(store: string, owners: Owners): void {
  const layers = path.join(store, 'layers');
  fs.mkdirSync(layers, { recursive: true, mode: 0o700 });
  if (process.geteuid?.() === 0) {
    fs.lchownSync(layers, 0, owners.gid(0));
    fs.chmodSync(layers, 0o750);
  } else {
    fs.chmodSync(layers, 0o700);
  }
}

async function importImage(source: string, options: ImportOciImageOptions): Promise<OciImage> {
  const store = path.resolve(options.store);
  fs.mkdirSync(store, { recursive: true, mode: 0o755 });
  checkStore(store);
  fs.mkdirSync(path.join(store, 'tmp'), { recursive: true, mode: 0o755 });
  const maxLayerBytes = options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
  if (typeof maxLayerBytes !== 'number' || !Number.isSafeInteger(maxLayerBytes) || maxLayerBytes < 1) {
    throw new CordonOptionError('ERR_INVALID_ARG_VALUE', 'maxLayerBytes', `The "maxLayerBytes" option must be a positive integer (bytes). Received ${String(maxLayerBytes)}`);
  }
  const owners = storeOwners(store, options);
  closeLayers(store, owners);
  const stat = fs.statSync(source);
  if (stat.isDirectory()) return await importLayout(path.resolve(source), store, options.ref, owners, maxLayerBytes);
  // An archive: its layout files into a staging directory first, read from there.
  const staging = fs.mkdtempSync(path.join(store, 'tmp', 'archive-'));
  try {
    await unpackArchive(source, staging);
    return await importLayout(staging, store, options.ref, owners, maxLayerBytes);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function asCordonError(error: unknown): Error {
  if (error instanceof CordonError || error instanceof CordonOptionError) return error;
  const failure = error as NodeJS.ErrnoException;
  if (typeof failure.code === 'string' && typeof failure.errno === 'number') {
    return new CordonError(failure.code, `OCI image import: ${failure.message}`, {
      errno: failure.errno,
      ...(failure.syscall === undefined ? {} : { syscall: failure.syscall }),
      ...(failure.path === undefined ? {} : { path: failure.path }),
      cause: error,
    });
  }
  return new OciImageError(`OCI image import: ${(error as Error).message}`, { cause: error });
}

/** Only `oci-layout`, `index.json` and `blobs/ALG/HEX` files come out of an archive, at paths cordon builds. */
async function unpackArchive(archive: string, into: string): Promise<void> {
  fs.mkdirSync(path.join(into, 'blobs'), { mode: 0o700 });
  const reader = extract();
  const done = pipeline(fs.createReadStream(archive), reader);
  for await (const entry of reader) {
    const name = entry.header.name.replace(/^(\.\/)+/, '');
    const blob = /^blobs\/(sha256|sha512)\/([a-f0-9]{64}|[a-f0-9]{128})$/.exec(name);
    let target: string | undefined;
    if (entry.header.type === 'file' && (name === 'oci-layout' || name === 'index.json')) target = path.join(into, name);
    else if (entry.header.type === 'file' && blob !== null) {
      fs.mkdirSync(path.join(into, 'blobs', blob[1]!), { recursive: true, mode: 0o700 });
      target = path.join(into, 'blobs', blob[1]!, blob[2]!);
    }
    if (target === undefined) {
      entry.resume();
      continue;
    }
    await pipeline(entry, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
  }
  await done;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  if (!fs.existsSync(file)) throw new OciImageError(`Not an OCI image layout: no ${what}`, { path: file });
  const fd = openLayoutFile(file, what);
  try {
    if (fs.fstatSync(fd).size > MAX_JSON_BLOB) throw new OciImageError(`The OCI image's ${what} is over 4 MiB, which cordon does not read`, { path: file });
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OciImageError(`The OCI image's ${what} is not JSON: ${(error as Error).message}`, { path: file, cause: error });
  }
}

/**
 * Opens a file of the layout: its own regular file, never a symbolic link
 * (a layout directory may come from someone else: a link to a host file
 * would have cordon read and hash it, a link to /dev/zero or a FIFO would
 * never end). Returns the fd, or throws an OciImageError.
 */
function openLayoutFile(file: string, what: string, digest?: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OciImageError(`The OCI image's ${what} is missing`, { path: file, ...(digest === undefined ? {} : { digest }) });
    if (code === 'ELOOP') throw new OciImageError(`The OCI image's ${what} is a symbolic link, not a regular file of the layout`, { path: file, ...(digest === undefined ? {} : { digest }) });
    throw error;
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new OciImageError(`The OCI image's ${what} is not a regular file`, { path: file, ...(digest === undefined ? {} : { digest }) });
  }
  return fd;
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return path.join(layout, 'blobs', alg, hex);
}

function checkDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || typeof d.size !== 'number') {
    throw new OciImageError(`The OCI image's ${where} is not a descriptor { mediaType, digest, size }`);
  }
  if (!DIGEST.test(d.digest)) throw new OciImageError(`The OCI image's ${where} has a digest cordon does not take (sha256 or sha512, lowercase hex): ${JSON.stringify(d.digest.slice(0, 80))}`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new OciImageError(`The OCI image's ${where} has a bad size`, { digest: d.digest });
  return d as Descriptor;
}

/** A small JSON blob (index, manifest, config), its size and digest verified. */
function readBlobJson(layout: string, descriptor: Descriptor, what: string): unknown {
  const file = blobPath(layout, descriptor.digest);
  if (descriptor.size > MAX_JSON_BLOB) {
    throw new OciImageError(`The OCI image's ${what} claims ${descriptor.size} bytes: cordon reads JSON blobs of up to 4 MiB`, { path: file, digest: descriptor.digest });
  }
  let data: Buffer;
  // No more than its descriptor says is read (a blob grown past it fails its digest).
  const fd = openLayoutFile(file, `${what} blob`, descriptor.digest);
  try {
    data = Buffer.alloc(descriptor.size + 1);
    data = data.subarray(0, fs.readSync(fd, data, 0, data.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  const [alg] = descriptor.digest.split(':') as [string];
  const actual = `${alg}:${crypto.createHash(alg).update(data).digest('hex')}`;
  if (data.length !== descriptor.size || actual !== descriptor.digest) {
    throw new OciImageError(`The OCI image's ${what} does not match its digest (${descriptor.digest}, ${descriptor.size} bytes; found ${actual}, ${data.length} bytes)`, { path: file, digest: descriptor.digest });
  }
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new OciImageError(`The OCI image's ${what} is not JSON`, { path: file, digest: descriptor.digest, cause: error });
  }
}

/** The image manifest's descriptor: by ref name, or the only one; a multi-platform index gives this host's. */
function pickManifest(layout: string, index: unknown, ref: string | undefined, where: string): Descriptor {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) throw new OciImageError(`The OCI image's ${where} has no manifests list`);
  let candidates = manifests.map((entry, i) => checkDescriptor(entry, `${where} manifests[${i}]`));
  if (ref !== undefined && where === 'index.json') {
    candidates = candidates.filter((d) => d.annotations?.[REF_NAME] === ref || d.annotations?.[REF_NAME]?.endsWith(`:${ref}`) === true);
    if (candidates.length === 0) throw new OciImageError(`The OCI image layout has no image named ${JSON.stringify(ref)} (annotation ${REF_NAME})`);
  }
  if (candidates.length > 1) {
    const platform = candidates.filter((d) => d.platform?.os === 'linux' && d.platform.architecture === GOARCH[process.arch]);
    if (platform.length === 1) candidates = platform;
  }
  if (candidates.length !== 1) {
    throw new OciImageError(`The OCI image's ${where} lists ${candidates.length} images: name one with \`ref\` (its ${REF_NAME} annotation)`);
  }
  const chosen = candidates[0]!;
  if (INDEX_TYPES.has(chosen.mediaType)) return pickManifest(layout, readBlobJson(layout, chosen, 'nested index'), undefined, `index ${chosen.digest}`);
  if (!MANIFEST_TYPES.has(chosen.mediaType)) throw new OciImageError(`The OCI image's manifest has media type ${JSON.stringify(chosen.mediaType)}, which cordon does not read`, { digest: chosen.digest });
  return chosen;
}

async function importLayout(layout: string, store: string, ref: string | undefined, owners: Owners, maxLayerBytes: number): Promise<OciImage> {
  const marker = readJson(path.join(layout, 'oci-layout'), 'oci-layout file') as { imageLayoutVersion?: unknown } | null;
  if (typeof marker?.imageLayoutVersion !== 'string' || !marker.imageLayoutVersion.startsWith('1.')) {
    throw new OciImageError('The OCI image layout version is not 1.x', { path: path.join(layout, 'oci-layout') });
  }
  const manifestDescriptor = pickManifest(layout, readJson(path.join(layout, 'index.json'), 'index.json'), ref, 'index.json');
  const manifest = readBlobJson(layout, manifestDescriptor, 'manifest') as { config?: unknown; layers?: unknown };
  const configDescriptor = checkDescriptor(manifest.config, 'manifest config');
  const config = readBlobJson(layout, configDescriptor, 'config') as {
    rootfs?: { type?: unknown; diff_ids?: unknown };
    config?: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; WorkingDir?: string; User?: string };
  };
  if (!Array.isArray(manifest.layers)) throw new OciImageError('The OCI image manifest has no layers list', { digest: manifestDescriptor.digest });
  const layers = manifest.layers.map((entry, i) => checkDescriptor(entry, `manifest layers[${i}]`));
  const diffIds = config.rootfs?.diff_ids;
  if (config.rootfs?.type !== 'layers' || !Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new OciImageError(`The OCI image config's rootfs.diff_ids does not list one diff id per layer (${layers.length})`, { digest: configDescriptor.digest });
  }

  const skipped: SkippedEntry[] = [];
  const dirs: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    const diffId = diffIds[i];
    if (typeof diffId !== 'string' || !DIGEST.test(diffId)) throw new OciImageError(`The OCI image config's rootfs.diff_ids[${i}] is not a digest`, { digest: configDescriptor.digest });
    dirs.push(await storeLayer(layout, store, layers[i]!, diffId, skipped, owners, maxLayerBytes));
  }
  const process = config.config ?? {};
  return {
    layers: dirs.reverse(),
    digest: manifestDescriptor.digest,
    config: {
      env: process.Env ?? [],
      entrypoint: process.Entrypoint ?? [],
      cmd: process.Cmd ?? [],
      workingDir: process.WorkingDir ?? '',
      user: process.User ?? '',
    },
    skipped,
  };
}

/** A stream stage that hashes and counts what passes through it; more than `limit` bytes fail it with `tooLarge()`. */
class Measure extends Transform {
  readonly hash: crypto.Hash;
  size = 0;
  /** The error it failed with once past its limit. */
  exceeded: OciImageError | undefined;
  constructor(
    alg: string,
    private readonly limit = Infinity,
    private readonly tooLarge?: () => OciImageError,
  ) {
    super();
    this.hash = crypto.createHash(alg);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit && this.tooLarge !== undefined) {
      this.exceeded = this.tooLarge();
      callback(this.exceeded);
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** The layer's directory in the store, unpacked and verified now unless it is there already. */
async function storeLayer(
  layout: string,
  store: string,
  layer: Descriptor,
  diffId: string,
  skipped: SkippedEntry[],
  owners: Owners,
  maxLayerBytes: number,
): Promise<string> {
  const [diffAlg, diffHex] = diffId.split(':') as [string, string];
  const final = path.join(store, 'layers', diffAlg, diffHex);
  if (fs.existsSync(final)) return final; // verified when it was stored
  const compression = LAYER_TYPES[layer.mediaType];
  if (compression === undefined) throw new OciImageError(`The OCI image layer has media type ${JSON.stringify(layer.mediaType)}, which cordon does not unpack`, { digest: layer.digest });
  const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (compression === 'zstd' && zstd === undefined) {
    throw new OciImageError(`The OCI image layer is zstd-compressed, and this Node (${process.version}) has no zstd in zlib (Node 22.15 and later have)`, { digest: layer.digest });
  }
  const file = blobPath(layout, layer.digest);
  return await unpackLayer(file, store, final, layer, diffId, compression, zstd, skipped, owners, maxLayerBytes);
}

async function unpackLayer(
  file: string,
  store: string,
  final: string,
  layer: Descriptor,
  diffId: string,
  compression: 'none' | 'gzip' | 'zstd',
  zstd: (() => Transform) | undefined,
  skipped: SkippedEntry[],
  owners: Owners,
  maxLayerBytes: number,
): Promise<string> {
  const [diffAlg] = diffId.split(':') as [string, string];
  // Each read by an fd of the layout's own regular file (a blob changed between the two fails the diff id).
  const read = (): Readable => fs.createReadStream('', { fd: openLayoutFile(file, 'layer blob', layer.digest) });
  // The blob is verified before the tar parser sees a byte of it.
  const blob = new Measure(layer.digest.split(':')[0]!);
  await pipeline(read(), blob, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  const blobDigest = `${layer.digest.split(':')[0]}:${blob.hash.digest('hex')}`;
  if (blob.size !== layer.size || blobDigest !== layer.digest) {
    throw new OciImageError(`The OCI image layer does not match its digest (${layer.digest}, ${layer.size} bytes; found ${blobDigest}, ${blob.size} bytes)`, { path: file, digest: layer.digest });
  }

  const staging = fs.mkdtempSync(path.join(store, 'tmp', 'layer-'));
  try {
    const root = path.join(staging, 'root');
    fs.mkdirSync(root, { mode: 0o755 });
    const diff = new Measure(diffAlg, maxLayerBytes, () => new OciImageError(
      `The OCI image layer ${layer.digest} unpacks to more than ${maxLayerBytes} bytes (maxLayerBytes; ${layer.size} compressed): refused before it fills the store (raise maxLayerBytes for an image this large)`,
      { path: file, digest: layer.digest },
    ));
    const stages: (Readable | Transform)[] = [read()];
    if (compression === 'gzip') stages.push(zlib.createGunzip());
    if (compression === 'zstd') stages.push(zstd!());
    stages.push(diff);
    const unpacker = new LayerUnpacker(root, layer.digest, skipped, owners);
    const reader = extract();
    // (tar-stream's streamx Writable takes part in Node's pipeline like any writable)
    const flowing = pipeline([...stages, reader] as unknown as NodeJS.ReadWriteStream[]);
    // If the unpacker refuses an entry, stop the flow; whichever failed first is the error.
    const unpacked = (async () => {
      for await (const entry of reader) await unpacker.entry(entry.header, entry as unknown as AsyncIterable<Buffer>);
    })();
    try {
      await Promise.all([flowing, unpacked]);
    } catch (error) {
      reader.destroy();
      await Promise.allSettled([flowing, unpacked]);
      if (diff.exceeded !== undefined) throw diff.exceeded;
      const first = await unpacked.then(() => error, (refusal: unknown) => refusal);
      if (first instanceof CordonError) throw first;
      // A blob that matches its digest but does not decompress or parse: a bad image, not a host failure.
      throw new OciImageError(`The OCI image layer ${layer.digest} is not a valid ${compression === 'none' ? '' : `${compression} `}tar: ${(first as Error).message}`, { path: file, digest: layer.digest, cause: first });
    }
    const actualDiff = `${diffAlg}:${diff.hash.digest('hex')}`;
    if (actualDiff !== diffId) {
      throw new OciImageError(`The OCI image layer's uncompressed tar does not match its diff id (${diffId}; found ${actualDiff})`, { path: file, digest: layer.digest });
    }
    unpacker.finish();
    fs.mkdirSync(path.dirname(final), { recursive: true, mode: 0o755 });
    try {
      fs.renameSync(root, final);
    } catch (error) {
      // Another import stored the same layer meanwhile: theirs serves.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !fs.existsSync(final)) throw error;
    }
    return final;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
