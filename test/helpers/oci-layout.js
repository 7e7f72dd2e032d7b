// OCI image layouts written by hand (no registry, no tools): layers as tar
// (gzip by default) from entry lists, a config with their diff ids, a
// manifest and index.json. Also a busybox base layer's entries.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { pack } = require('tar-stream');

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

function sha256(data) {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** A tar of `entries` ({ name, type, content, linkname, mode, devmajor, devminor }). */
async function tarOf(entries) {
  const archive = pack();
  const chunks = [];
  archive.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const entry of entries) {
    const { content, ...header } = entry;
    const type = header.type ?? 'file';
    const mode = header.mode ?? (type === 'directory' ? 0o755 : 0o644);
    header.mtime ??= new Date(0); // the same entries give the same tar, so the same diff id
    await new Promise((resolve, reject) => {
      const done = (error) => (error ? reject(error) : resolve());
      if (type === 'file') archive.entry({ ...header, type, mode }, content ?? '', done);
      else archive.entry({ ...header, type, mode }, done);
    });
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** The busybox base layer: /bin/busybox and applets, the usual empty dirs. */
function busyboxEntries(applets = ['sh', 'cat', 'ls', 'echo', 'touch', 'mkdir', 'id', 'test', 'rm']) {
  return [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
    ...applets.map((applet) => ({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' })),
    ...['proc', 'dev', 'tmp', 'etc', 'sys', 'data'].map((dir) => ({ name: `${dir}/`, type: 'directory', mode: dir === 'tmp' || dir === 'data' ? 0o1777 : 0o755 })),
  ];
}

/**
 * Writes an OCI image layout at `dir`: one image whose layers (bottom
 * first) are tars of the given entry lists. `tamper(blobs)` may change
 * what is written (digests are of the untampered data). Returns the
 * layer digests and diff ids.
 */
async function writeLayout(dir, layerEntries, { gzip = true, ref = 'latest', tamper, config: extraConfig = {} } = {}) {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const blobs = new Map();
  const put = (data) => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { digest, size: data.length };
  };
  const layers = [];
  const diffIds = [];
  for (const entries of layerEntries) {
    const tar = await tarOf(entries);
    diffIds.push(sha256(tar));
    const blob = gzip ? zlib.gzipSync(tar) : tar;
    layers.push({ mediaType: `application/vnd.oci.image.layer.v1.tar${gzip ? '+gzip' : ''}`, ...put(blob) });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], WorkingDir: '/', ...extraConfig },
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
    layers,
  }));
  const manifestDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest), annotations: { 'org.opencontainers.image.ref.name': ref } };
  tamper?.(blobs, { layers, diffIds });
  for (const [digest, data] of blobs) fs.writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifestDescriptor] }));
  return { layers, diffIds, manifest: manifestDescriptor };
}

/** A tar archive (oci-archive) of the layout at `dir`. */
async function archiveOf(dir, file) {
  const entries = [];
  const walk = (sub) => {
    for (const name of fs.readdirSync(path.join(dir, sub)).sort()) {
      const rel = sub === '' ? name : `${sub}/${name}`;
      if (fs.statSync(path.join(dir, rel)).isDirectory()) {
        entries.push({ name: `${rel}/`, type: 'directory' });
        walk(rel);
      } else entries.push({ name: rel, content: fs.readFileSync(path.join(dir, rel)) });
    }
  };
  walk('');
  fs.writeFileSync(file, await tarOf(entries));
}

module.exports = { writeLayout, archiveOf, busyboxEntries, tarOf, sha256 };
