#!/usr/bin/env node
// npm run test:cgroup2 — runs the cgroup tests inside a small qemu VM whose
// kernel (Debian's linux-image-amd64, extracted, never installed) boots with
// cgroup v2 alone at /sys/fs/cgroup. See test/cgroup2-vm.md.
//
//   node scripts/cgroup2-vm/run.js [options] [test files...]
//     --timeout=SECONDS  whole VM run (default 1200, env CGROUP2_VM_TIMEOUT)
//     --memory=MIB       guest memory (default 1536, env CGROUP2_VM_MEMORY)
//     --cpus=N           guest CPUs (default 2, env CGROUP2_VM_CPUS)
//     --accel=auto|kvm|tcg  (default auto: KVM when /dev/kvm opens and the CPU
//                        shows vmx/svm, else TCG; a KVM guest silent for 30 s
//                        falls back to TCG; env CGROUP2_VM_ACCEL)
//     --prepare          only fetch the kernel and build the initramfs (warm the cache)
//     --refresh          re-resolve and re-download the kernel package
//     --runner=node|tap  node (default): each file with plain `node FILE`, in
//                        turn (guest-runner.js); tap: tap's runner with
//                        --reporter=tap (costs ~30 s per file under TCG)
//     --file-timeout=S   per test file, node runner (default 600, env CGROUP2_VM_FILE_TIMEOUT)
//     --tap-arg=ARG      an extra argument for tap's runner (repeatable)
//     --shell            an interactive shell in the VM instead of the tests
//
// Exit status: the runner's status inside the VM (0 all passed, 1 failures);
// 124 on timeout; 125 when the VM could not be set up or never reported one.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { WANTED_MODULES, resolveModules, buildInitramfs, writeTreeCpio } = require('./initramfs');
const { TapSummary } = require('./tap-summary');

const HERE = __dirname;
const PROJECT = path.resolve(HERE, '..', '..');
const CACHE = path.resolve(process.env.CGROUP2_VM_CACHE || path.join(PROJECT, '.cache', 'cgroup2-vm'));
const KERNEL_META = process.env.CGROUP2_VM_KERNEL_PACKAGE || 'linux-image-amd64';
const SETUP_FAILED = 125;
const TIMED_OUT = 124;
/** Seconds a KVM guest may stay silent (stage 1 prints within a few seconds when KVM works). */
const KVM_SILENCE = Number(process.env.CGROUP2_VM_KVM_SILENCE || 30);

class SetupError extends Error {}

function log(message) {
  process.stderr.write(`cgroup2-vm: ${message}\n`);
}

function elapsed(start) {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      timeout: { type: 'string', default: process.env.CGROUP2_VM_TIMEOUT || '1200' },
      memory: { type: 'string', default: process.env.CGROUP2_VM_MEMORY || '1536' },
      cpus: { type: 'string', default: process.env.CGROUP2_VM_CPUS || '2' },
      accel: { type: 'string', default: process.env.CGROUP2_VM_ACCEL || 'auto' },
      prepare: { type: 'boolean', default: false },
      refresh: { type: 'boolean', default: false },
      shell: { type: 'boolean', default: false },
      runner: { type: 'string', default: process.env.CGROUP2_VM_RUNNER || 'node' },
      'file-timeout': { type: 'string', default: process.env.CGROUP2_VM_FILE_TIMEOUT || '600' },
      'tap-arg': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    const lines = fs.readFileSync(__filename, 'utf8').split('\n');
    const head = lines.slice(1, lines.findIndex((line) => line === "'use strict';"));
    process.stdout.write(`${head.map((line) => line.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    process.exit(0);
  }
  const number = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) throw new SetupError(`--${name} must be an integer in ${min}..${max}, got ${values[name]}`);
    return value;
  };
  if (!['node', 'tap'].includes(values.runner)) throw new SetupError(`--runner must be node or tap, got ${values.runner}`);
  if (!['auto', 'kvm', 'tcg'].includes(values.accel)) throw new SetupError(`--accel must be auto, kvm or tcg, got ${values.accel}`);
  return {
    timeout: number('timeout', 10, 24 * 3600),
    memory: number('memory', 256, 65536),
    cpus: number('cpus', 1, 64),
    accel: values.accel,
    prepare: values.prepare,
    refresh: values.refresh,
    shell: values.shell,
    runner: values.runner,
    fileTimeout: number('file-timeout', 10, 24 * 3600),
    tapArgs: values['tap-arg'],
    files: positionals,
  };
}

/** The test files, relative to the project: the arguments, or test/cgroups/*.test.js and test/spawn/cgroup*.test.js. */
function testFiles(given) {
  let files;
  if (given.length > 0) {
    files = given.map((file) => path.relative(PROJECT, path.resolve(file)));
  } else {
    const pick = (dir, test) => {
      const full = path.join(PROJECT, dir);
      if (!fs.existsSync(full)) return [];
      return fs.readdirSync(full).filter(test).sort().map((name) => `${dir}/${name}`);
    };
    files = [...pick('test/cgroups', (name) => name.endsWith('.test.js')), ...pick('test/spawn', (name) => /^cgroup.*\.test\.js$/.test(name))];
  }
  if (files.length === 0) throw new SetupError('no test files');
  for (const file of files) {
    if (file.startsWith('..') || path.isAbsolute(file)) throw new SetupError(`${file} is outside the project`);
    if (/[\s'"\\$`]/.test(file)) throw new SetupError(`${JSON.stringify(file)}: test file names with blanks or shell characters are not supported`);
    if (!fs.existsSync(path.join(PROJECT, file))) throw new SetupError(`${file} does not exist`);
  }
  return files;
}

function which(command) {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const full = path.join(dir || '.', command);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {}
  }
  return undefined;
}

function run(command, args, opts = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (result.error) throw new SetupError(`${command} ${args.join(' ')}: ${result.error.message}`);
  return result;
}

/** Whether `file` is an ELF without a PT_INTERP program header (statically linked). */
function isStaticElf(file) {
  const data = fs.readFileSync(file);
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2) return false;
  const phoff = Number(data.readBigUInt64LE(0x20));
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (data.readUInt32LE(phoff + i * phentsize) === 3) return false;
  }
  return true;
}

function findBusybox() {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((file) => fs.existsSync(file));
  if (busybox === undefined) throw new SetupError('no busybox: install the Debian package busybox-static');
  if (!isStaticElf(busybox)) throw new SetupError(`${busybox} is dynamically linked: install the Debian package busybox-static`);
  return busybox;
}

function ensureCacheDir() {
  fs.mkdirSync(CACHE, { recursive: true });
  // Git-ignored without touching the project's .gitignore.
  const ignore = path.join(CACHE, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
}

/** The versioned kernel package the metapackage depends on, and its candidate version, from apt's local lists. */
function resolveKernelPackage() {
  const depends = run('apt-cache', ['depends', KERNEL_META]);
  const match = depends.status === 0 && /Depends: (linux-image-[^\s<>]+)/.exec(depends.stdout);
  if (!match) return undefined;
  const show = run('apt-cache', ['show', '--no-all-versions', match[1]]);
  const version = show.status === 0 && /^Version: (\S+)$/m.exec(show.stdout);
  if (!version) return undefined;
  return { pkg: match[1], version: version[1] };
}

function readStamp(dir) {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, 'stamp.json'), 'utf8'));
    if (JSON.stringify(stamp.wanted) !== JSON.stringify(WANTED_MODULES)) return undefined;
    if (!fs.existsSync(path.join(dir, 'vmlinuz'))) return undefined;
    return { ...stamp, dir };
  } catch {
    return undefined;
  }
}

function cachedKernels() {
  const root = path.join(CACHE, 'kernel');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((name) => readStamp(path.join(root, name)))
    .filter(Boolean)
    .sort((a, b) => b.fetchedAt - a.fetchedAt);
}

/**
 * The kernel and its modules, from the cache or downloaded with apt-get
 * download and extracted with dpkg-deb -x. A cached kernel younger than a
 * week is used without asking apt (apt-cache alone costs ~2 s).
 */
function kernel(refresh) {
  const recent = cachedKernels()[0];
  if (!refresh && recent !== undefined && Date.now() - recent.fetchedAt < 7 * 24 * 3600 * 1000) return recent;
  const wanted = resolveKernelPackage();
  if (wanted === undefined) {
    const cached = cachedKernels()[0];
    if (cached !== undefined) {
      log(`apt-cache cannot resolve ${KERNEL_META} (no apt lists?): using the cached ${cached.pkg} ${cached.version}`);
      return cached;
    }
    throw new SetupError(`apt-cache cannot resolve ${KERNEL_META}: run apt-get update (Debian/Ubuntu apt sources needed)`);
  }
  const dir = path.join(CACHE, 'kernel', `${wanted.pkg}_${wanted.version}`.replace(/[^A-Za-z0-9._+-]/g, '_'));
  const cached = readStamp(dir);
  if (cached !== undefined && !refresh) {
    // Still apt's candidate: good for another week.
    cached.fetchedAt = Date.now();
    fs.writeFileSync(path.join(dir, 'stamp.json'), `${JSON.stringify({ ...cached, dir: undefined }, null, 2)}\n`);
    return cached;
  }

  const start = Date.now();
  log(`fetching ${wanted.pkg} ${wanted.version} (apt-get download, dpkg-deb -x) into ${path.relative(PROJECT, dir)}`);
  const work = fs.mkdtempSync(path.join(CACHE, `download-${process.pid}-`));
  try {
    // apt drops to the _apt user for downloads: let it write here.
    fs.chmodSync(work, 0o777);
    const download = run('apt-get', ['download', `${wanted.pkg}=${wanted.version}`], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    if (download.status !== 0) throw new SetupError(`apt-get download ${wanted.pkg}=${wanted.version} failed:\n${download.stdout}${download.stderr}`);
    const deb = fs.readdirSync(work).find((name) => name.endsWith('.deb'));
    if (deb === undefined) throw new SetupError('apt-get download left no .deb');
    const tree = path.join(work, 'tree');
    const extract = run('dpkg-deb', ['-x', path.join(work, deb), tree], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (extract.status !== 0) throw new SetupError(`dpkg-deb -x ${deb} failed:\n${extract.stderr}`);

    const vmlinuz = fs.readdirSync(path.join(tree, 'boot')).find((name) => name.startsWith('vmlinuz-'));
    if (vmlinuz === undefined) throw new SetupError(`${deb} has no /boot/vmlinuz-*`);
    const release = vmlinuz.slice('vmlinuz-'.length);
    const modulesDir = ['lib/modules', 'usr/lib/modules'].map((sub) => path.join(tree, sub, release)).find((candidate) => fs.existsSync(candidate));
    if (modulesDir === undefined) throw new SetupError(`${deb} has no modules for ${release}`);
    const modules = resolveModules(modulesDir);

    const stage = `${dir}.partial`;
    fs.rmSync(stage, { recursive: true, force: true });
    fs.mkdirSync(path.join(stage, 'modules'), { recursive: true });
    fs.copyFileSync(path.join(tree, 'boot', vmlinuz), path.join(stage, 'vmlinuz'));
    const config = path.join(tree, 'boot', `config-${release}`);
    if (fs.existsSync(config)) fs.copyFileSync(config, path.join(stage, 'config'));
    for (const { name, file } of modules) fs.copyFileSync(file, path.join(stage, 'modules', `${name}.ko`));
    const stamp = { pkg: wanted.pkg, version: wanted.version, release, wanted: WANTED_MODULES, modules: modules.map((m) => m.name), fetchedAt: Date.now() };
    fs.writeFileSync(path.join(stage, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(stage, dir);
    // Older kernels are not needed any more.
    for (const name of fs.readdirSync(path.dirname(dir))) {
      if (path.join(path.dirname(dir), name) !== dir) fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
    }
    log(`kernel ${release} ready (${elapsed(start)}); modules: ${stamp.modules.join(' ')}`);
    return { ...stamp, dir };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The initramfs for `k`, rebuilt when stage 1, busybox, the modules or the builder change. */
function initramfs(k, busybox) {
  const init = path.join(HERE, 'initramfs-init.sh');
  const hash = crypto.createHash('sha256');
  for (const file of [init, busybox, path.join(HERE, 'initramfs.js')]) hash.update(fs.readFileSync(file));
  hash.update(JSON.stringify([k.pkg, k.version, k.modules]));
  const out = path.join(CACHE, `initramfs-${hash.digest('hex').slice(0, 16)}.cpio.gz`);
  if (fs.existsSync(out)) return out;
  const start = Date.now();
  buildInitramfs({ out, busybox, init, modules: k.modules.map((name) => ({ name, file: path.join(k.dir, 'modules', `${name}.ko`) })) });
  for (const name of fs.readdirSync(CACHE)) {
    if (/^initramfs-.*\.cpio\.gz$/.test(name) && path.join(CACHE, name) !== out) fs.rmSync(path.join(CACHE, name), { force: true });
  }
  log(`initramfs built (${(fs.statSync(out).size / 1048576).toFixed(1)} MiB, ${elapsed(start)})`);
  return out;
}

function bootId() {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Where a KVM that opened but never booted a guest is remembered, for this host boot. */
function kvmVerdictFile() {
  return path.join(CACHE, `kvm-unusable-${bootId()}`);
}

/** Run dirs left by runs that were killed outright (their pid is gone). */
function removeStaleRunDirs() {
  for (const name of fs.readdirSync(CACHE)) {
    const match = /^(?:run|download)-(\d+)-/.exec(name);
    if (match === null) continue;
    try {
      process.kill(Number(match[1]), 0);
      continue; // still running
    } catch (error) {
      if (error.code === 'EPERM') continue;
    }
    fs.rmSync(path.join(CACHE, name), { recursive: true, force: true });
  }
}

function chooseAccel(wanted) {
  if (wanted !== 'auto') return { accel: wanted, why: 'asked for' };
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
  } catch (error) {
    return { accel: 'tcg', why: `/dev/kvm: ${error.code || error.message}` };
  }
  if (fs.existsSync(kvmVerdictFile())) return { accel: 'tcg', why: 'KVM hung on an earlier run since this host booted' };
  const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  if (!/\b(vmx|svm)\b/.test(flags)) return { accel: 'tcg', why: '/dev/kvm opens, but the CPU shows neither vmx nor svm (nested KVM is not usable)' };
  return { accel: 'kvm', why: '/dev/kvm opens' };
}

function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

function writeRunDir(runDir, settings) {
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${shellQuote(value)}`);
  // The cordon test switches (CORDON_MUST_RUN, ...) go into the VM as they are here.
  for (const [key, value] of Object.entries(process.env)) {
    if (/^CORDON_[A-Z0-9_]+$/.test(key)) lines.push(`export ${key}=${shellQuote(value)}`);
  }
  fs.writeFileSync(path.join(runDir, 'env'), `${lines.join('\n')}\n`);
}

/** Paths the project copy leaves out: git, caches, tap's results (its built plugins stay). */
const PROJECT_EXCLUDES = ['.git', '.cache', '.tap/processinfo', '.tap/test-results', 'coverage', 'node_modules/.cache'];

/**
 * This run's initrd: the cached base archive, then an uncompressed cpio of
 * the project under /cgvm-project (the kernel unpacks concatenated archives
 * into one initramfs; stage 1 bind-mounts it at the project's path). Far
 * faster than 9p for node_modules' thousands of lookups, and than a tar
 * unpacked by busybox, under TCG.
 */
function runInitrd(base, out) {
  const fd = fs.openSync(out, 'w');
  try {
    const head = fs.readFileSync(base);
    fs.writeSync(fd, head);
    // An uncompressed archive must start 4-byte aligned; the kernel skips NUL padding.
    fs.writeSync(fd, Buffer.alloc((4 - (head.length % 4)) % 4));
    return writeTreeCpio(fd, PROJECT, 'cgvm-project', PROJECT_EXCLUDES);
  } finally {
    fs.closeSync(fd);
  }
}

function qemuArgs({ accel, memory, cpus, vmlinuz, initrd, cmdline, scratch }) {
  return [
    '-nodefaults', '-no-user-config', '-no-reboot',
    '-machine', `q35,accel=${accel}`,
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', String(memory),
    '-smp', String(cpus),
    '-display', 'none',
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-kernel', vmlinuz,
    '-initrd', initrd,
    '-append', cmdline,
    // The host's root, read-only: the guest's lower layer (node, the project, busybox, perl...).
    '-fsdev', 'local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    // A sparse scratch disk, formatted by stage 1, for /tmp.
    '-drive', `file=${scratch},format=raw,if=none,id=scratch,cache=unsafe,discard=unmap`,
    '-device', 'virtio-blk-pci,drive=scratch,serial=cgvm-scratch',
    '-nic', 'none',
  ];
}

/**
 * Boots the VM once; resolves to { status, code, signal, sawOutput, stderr,
 * timedOut, silent, bootSeconds }. `silentAfter` (seconds): give up when the
 * guest has printed nothing by then (a KVM that hangs).
 */
function boot(qemu, args, { timeout, silentAfter, nonce, logFile, summary, interactive }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(qemu, args, { stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
    const logStream = fs.createWriteStream(logFile);
    const marker = new RegExp(`^CGROUP2_VM_EXIT_STATUS ${nonce} (\\d+)$`);
    let status;
    let sawOutput = false;
    let firstOutputAt;
    let timedOut = false;
    let silent = false;
    let stderr = '';
    let pending = '';
    const onLine = (line) => {
      const found = marker.exec(line);
      if (found) status = Number(found[1]);
      summary.line(line);
    };
    child.stdout.on('data', (chunk) => {
      if (!sawOutput) firstOutputAt = Date.now();
      sawOutput = true;
      const text = chunk.toString('utf8').replace(/\r/g, '');
      process.stdout.write(text);
      logStream.write(text);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString('utf8');
      process.stderr.write(chunk);
      logStream.write(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      log(`timed out after ${timeout} s: stopping qemu (pid ${child.pid})`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeout * 1000);
    const watchdog =
      silentAfter === undefined
        ? undefined
        : setTimeout(() => {
            if (sawOutput) return;
            silent = true;
            log(`no console output after ${silentAfter} s: stopping qemu (pid ${child.pid})`);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, silentAfter * 1000);
    const forward = (signal) => {
      log(`${signal}: stopping qemu (pid ${child.pid})`);
      child.kill('SIGTERM');
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      stderr += error.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (watchdog !== undefined) clearTimeout(watchdog);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (pending) onLine(pending);
      logStream.end();
      resolve({ status, code, signal, sawOutput, stderr, timedOut, silent, bootSeconds: firstOutputAt && (firstOutputAt - started) / 1000 });
    });
  });
}

async function main() {
  const started = Date.now();
  const opts = options();
  if (process.arch !== 'x64') throw new SetupError(`this runs x86_64 guests with Debian's ${KERNEL_META}; this host is ${process.arch}`);
  if (/\s/.test(PROJECT)) throw new SetupError(`the project path ${JSON.stringify(PROJECT)} has blanks (it goes on the kernel command line)`);
  const qemu = which('qemu-system-x86_64');
  if (qemu === undefined) throw new SetupError('no qemu-system-x86_64: install the Debian package qemu-system-x86');
  const busybox = findBusybox();
  const files = opts.shell ? [] : testFiles(opts.files);
  if (!opts.prepare) {
    for (const needed of ['dist/cgroups.js', 'node_modules/tap/dist/esm/run.mjs']) {
      if (!fs.existsSync(path.join(PROJECT, needed))) throw new SetupError(`${needed} is missing: run npm ci and npm run build first`);
    }
    if (!fs.existsSync(path.join(PROJECT, 'build/Release/cordon.node')) && !fs.existsSync(path.join(PROJECT, 'prebuilds'))) {
      throw new SetupError('the native addon is not built (no build/Release/cordon.node, no prebuilds/): run npm ci');
    }
  }
  if (process.getuid?.() !== 0) log('not root: the guest sees only the host files this user can read');

  ensureCacheDir();
  const k = kernel(opts.refresh);
  const initrd = initramfs(k, busybox);
  const prepared = Date.now();
  if (opts.prepare) {
    log(`prepared ${k.pkg} ${k.version} (${k.release}) and ${path.relative(PROJECT, initrd)} in ${elapsed(started)}`);
    return 0;
  }

  removeStaleRunDirs();
  const runDir = fs.mkdtempSync(path.join(CACHE, `run-${process.pid}-`));
  const cleanup = () => fs.rmSync(runDir, { recursive: true, force: true });
  process.on('exit', cleanup);
  try {
    const nonce = crypto.randomBytes(8).toString('hex');
    writeRunDir(runDir, {
      CGVM_NONCE: nonce,
      CGVM_PROJECT: PROJECT,
      CGVM_NODE: process.execPath,
      CGVM_FILES: files.join(' '),
      CGVM_TAP_ARGS: opts.tapArgs.join(' '),
      CGVM_RUNNER: opts.runner,
      CGVM_FILE_TIMEOUT: String(opts.fileTimeout),
      CGVM_SHELL: opts.shell ? '1' : '0',
    });
    const scratch = path.join(runDir, 'scratch.img');
    fs.closeSync(fs.openSync(scratch, 'w'));
    fs.truncateSync(scratch, 1 << 30);
    const runInitrdFile = path.join(runDir, 'initrd');
    const copyStart = Date.now();
    const copied = runInitrd(initrd, runInitrdFile);
    log(`initrd with the project: ${copied} entries, ${(fs.statSync(runInitrdFile).size / 1048576).toFixed(0)} MiB (${elapsed(copyStart)})`);

    const cmdline = [
      'console=ttyS0', 'quiet', 'loglevel=3', 'panic=-1', 'rdinit=/init',
      'systemd.unified_cgroup_hierarchy=1', 'cgroup_no_v1=all',
      `cgvm.init=${path.join(HERE, 'guest-init.sh')}`, `cgvm.run=${runDir}`, `cgvm.project=${PROJECT}`,
    ].join(' ');
    let { accel, why } = chooseAccel(opts.accel);
    const logFile = path.join(CACHE, 'last-run.log');
    let result;
    let summary;
    for (;;) {
      summary = new TapSummary();
      log(`booting ${k.release} (${k.pkg} ${k.version}) with ${accel} (${why}), ${opts.memory} MiB, ${opts.cpus} CPUs; ${opts.shell ? 'shell' : `${files.length} test files, ${opts.runner} runner`}; timeout ${opts.timeout} s`);
      const args = qemuArgs({ accel, memory: opts.memory, cpus: opts.cpus, vmlinuz: path.join(k.dir, 'vmlinuz'), initrd: runInitrdFile, cmdline, scratch });
      const deadline = opts.timeout - (Date.now() - prepared) / 1000;
      const probing = accel === 'kvm' && opts.accel === 'auto';
      result = await boot(qemu, args, { timeout: Math.max(deadline, 1), silentAfter: probing ? KVM_SILENCE : undefined, nonce, logFile, summary, interactive: opts.shell });
      // KVM may open and yet be unusable (broken nested virtualization): fall back to TCG once.
      if (probing && !result.sawOutput && !result.timedOut && (result.silent || result.code !== 0)) {
        if (result.silent) fs.writeFileSync(kvmVerdictFile(), `KVM printed nothing in ${KVM_SILENCE} s on ${new Date().toISOString()}\n`);
        ({ accel, why } = { accel: 'tcg', why: result.silent ? `KVM printed nothing in ${KVM_SILENCE} s` : 'KVM failed to start' });
        continue;
      }
      break;
    }

    log(`log: ${path.relative(PROJECT, logFile)}`);
    if (!opts.shell) process.stderr.write(`\n${summary.report()}\n\n`);
    const timing = `total ${elapsed(started)} (setup ${((prepared - started) / 1000).toFixed(1)} s, first console output after ${result.bootSeconds?.toFixed(1) ?? '?'} s)`;
    if (result.timedOut) {
      log(`TIMEOUT after ${opts.timeout} s; ${timing}`);
      return TIMED_OUT;
    }
    if (result.status === undefined) {
      log(`the VM stopped without a status line (qemu exit ${result.code ?? result.signal}); ${timing}`);
      return SETUP_FAILED;
    }
    log(`guest exit status ${result.status} (${accel}); ${timing}`);
    return result.status;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(error instanceof SetupError ? error.message : error.stack);
    process.exit(SETUP_FAILED);
  },
);
