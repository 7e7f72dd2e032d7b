// The initramfs of the cgroup2 test VM: a gzipped newc cpio, written here
// (no cpio binary needed), holding the static busybox, stage 1
// (initramfs-init.sh as /init), and the kernel modules stage 1 loads, in
// dependency order (read from each module's .modinfo "depends=", since the
// Debian package ships no modules.dep).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const DIR = 0o040000;
const FILE = 0o100000;
const CHR = 0o020000;

/** Modules stage 1 needs: virtio PCI, the 9p share, overlayfs, virtio-blk and ext2 (ext4) for /tmp. */
// crc32c_generic: ext4 asks the crypto API for "crc32c" at mount time (a soft dependency, not in depends=).
const WANTED_MODULES = ['virtio_pci', 'virtio_blk', '9pnet_virtio', '9p', 'overlay', 'crc32c_generic', 'ext4'];

function normal(name) {
  return name.replace(/-/g, '_');
}

/** Every `.ko` under `dir`, by module name. */
function indexModules(dir) {
  const index = new Map();
  (function walk(current) {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ko')) index.set(normal(entry.name.slice(0, -3)), full);
    }
  })(dir);
  return index;
}

/** Built-in module names, from modules.builtin (kernel/fs/ext4/ext4.ko → ext4). */
function builtinModules(modulesDir) {
  const file = path.join(modulesDir, 'modules.builtin');
  if (!fs.existsSync(file)) return new Set();
  return new Set(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => normal(path.basename(line).replace(/\.ko.*$/, ''))));
}

function dependsOf(file) {
  const data = fs.readFileSync(file);
  const at = data.indexOf('\0depends=');
  if (at < 0) return [];
  const end = data.indexOf(0, at + 1);
  return data.subarray(at + '\0depends='.length, end).toString('utf8').split(',').filter(Boolean);
}

/**
 * The modules to load for `wanted`, dependencies first: [{ name, file }].
 * `modulesDir` is lib/modules/<version> of the extracted package.
 */
function resolveModules(modulesDir, wanted = WANTED_MODULES) {
  const index = indexModules(path.join(modulesDir, 'kernel'));
  const builtin = builtinModules(modulesDir);
  const order = [];
  const seen = new Set();
  const visit = (raw, from) => {
    const name = normal(raw);
    if (seen.has(name)) return;
    seen.add(name);
    if (builtin.has(name)) return;
    const file = index.get(name);
    if (file === undefined) throw new Error(`kernel module ${name}${from ? ` (needed by ${from})` : ''} is neither in ${modulesDir} nor built in`);
    for (const dependency of dependsOf(file)) visit(dependency, name);
    order.push({ name, file });
  };
  for (const name of wanted) visit(name);
  return order;
}

/**
 * A newc cpio writer: `add({ name, mode, data?, uid?, gid?, mtime?, rdevMajor?, rdevMinor? })`
 * (mode includes the type bits; a symlink's data is its target), then `end()`.
 * `sink(buffer)` receives the bytes.
 */
function cpioWriter(sink, firstIno = 1) {
  let ino = firstIno;
  const pad = (length) => Buffer.alloc((4 - (length % 4)) % 4);
  const hex = (value) => (value >>> 0).toString(16).padStart(8, '0');
  const add = (entry) => {
    const name = Buffer.from(`${entry.name}\0`);
    const data = entry.data ?? Buffer.alloc(0);
    const fields = [ino++, entry.mode, entry.uid ?? 0, entry.gid ?? 0, 1, entry.mtime ?? 0, data.length, 0, 0, entry.rdevMajor ?? 0, entry.rdevMinor ?? 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`);
    sink(Buffer.concat([header, name, pad(header.length + name.length)]));
    if (data.length > 0) sink(data);
    sink(pad(data.length));
  };
  return { add, end: () => add({ name: 'TRAILER!!!', mode: 0 }) };
}

/** A whole newc cpio archive of `entries`, in memory. */
function cpio(entries) {
  const chunks = [];
  const writer = cpioWriter((chunk) => chunks.push(chunk));
  for (const entry of entries) writer.add(entry);
  writer.end();
  return Buffer.concat(chunks);
}

/**
 * Writes `dir` (minus `exclude`, paths relative to it) as an uncompressed
 * newc cpio under `prefix` to the open fd, for the kernel to unpack into the
 * initramfs beside the base archive. Returns the number of entries.
 */
function writeTreeCpio(fd, dir, prefix, exclude = []) {
  const skip = new Set(exclude);
  let count = 0;
  // Inode numbers well clear of the base archive's (hard links are not kept: each file is its own inode).
  const writer = cpioWriter((chunk) => fs.writeSync(fd, chunk), 1 << 20);
  const parts = prefix.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) writer.add({ name: parts.slice(0, i).join('/'), mode: DIR | 0o755 });
  const walk = (relative) => {
    const full = path.join(dir, relative);
    for (const entry of fs.readdirSync(full, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (skip.has(rel)) continue;
      const file = path.join(dir, rel);
      let st;
      try {
        st = fs.lstatSync(file);
      } catch {
        continue; // removed meanwhile (others are editing)
      }
      const common = { name: `${parts.join('/')}/${rel}`, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        writer.add({ ...common, mode: DIR | (st.mode & 0o7777) });
        walk(rel);
      } else if (st.isSymbolicLink()) {
        writer.add({ ...common, mode: 0o120777, data: Buffer.from(fs.readlinkSync(file)) });
      } else if (st.isFile()) {
        let data;
        try {
          data = fs.readFileSync(file);
        } catch {
          continue;
        }
        writer.add({ ...common, mode: FILE | (st.mode & 0o7777), data });
      } else {
        continue; // sockets, fifos, devices: not for tests
      }
      count++;
    }
  };
  walk('');
  writer.end();
  return count;
}

/** Writes the gzipped initramfs to `out`. */
function buildInitramfs({ out, busybox, init, modules }) {
  const entries = [];
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'host', 'rw', 'newroot', 'modules']) entries.push({ name: dir, mode: DIR | 0o755 });
  entries.push({ name: 'dev/console', mode: CHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
  entries.push({ name: 'dev/null', mode: CHR | 0o666, rdevMajor: 1, rdevMinor: 3 });
  entries.push({ name: 'bin/busybox', mode: FILE | 0o755, data: fs.readFileSync(busybox) });
  entries.push({ name: 'init', mode: FILE | 0o755, data: fs.readFileSync(init) });
  for (const { name, file } of modules) entries.push({ name: `modules/${name}.ko`, mode: FILE | 0o644, data: fs.readFileSync(file) });
  entries.push({ name: 'modules/load-order', mode: FILE | 0o644, data: Buffer.from(`${modules.map((m) => m.name).join('\n')}\n`) });
  const temp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(temp, zlib.gzipSync(cpio(entries), { level: 6 }));
  fs.renameSync(temp, out);
}

module.exports = { WANTED_MODULES, resolveModules, buildInitramfs, writeTreeCpio, cpio };
