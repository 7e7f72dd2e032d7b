// The documentation of `cordon run`'s flags, made from the flag table
// (lib/cli-flags.ts): the --help text and the README's two flag tables
// (scripts/cli-docs.js writes them into README.md; test/unit/cli-docs.test.js
// fails when the README's copy and the table disagree).
import type { FlagRow } from './cli-flags';
import { FLAG_GROUPS, FLAGS } from './cli-flags';

export const USAGE_HEAD = `Usage:
  cordon run [options] [--] CMD [ARGS...]  run CMD in a new box; exits with its status (128+N for signal N)
  cordon probe [--json]                    print what this host allows
  cordon gc [--json] [--bridges|--no-bridges] [--grace-ms N] [--cgroup-parent P]  remove what dead boxes and supervisors left (cgroups, sockets, records, bridges nobody holds; --bridges: also lockless ones)
  cordon oci [--root DIR] create|start|run|state|kill|delete|pause|resume|ps|exec|features ...  an OCI runtime's verbs (see docs/oci.md)
  cordon --version                         print cordon's version
  cordon help | --help | run --help        print this help

Options end at CMD (the first word that is not an option or an option's
value) or at --: everything after it is CMD's, dashes and all. Flags apply in
command-line order: of two setting one option, the later wins.

Exit status of run:
  CMD's own status, or 128+N when CMD was killed by signal N
  125  cordon refused: bad options, or a step of the box's setup failed
  126  CMD was found but could not be executed (EACCES, ENOEXEC, ...)
  127  CMD was not found in the box

Examples:
  cordon run /bin/sh -c 'id; hostname; ps'
  cordon run --share net -- curl -sI http://127.0.0.1:8080/
  cordon run --layer /srv/templates/site --upper /srv/tenants/42 --memory-max 256M -- /usr/sbin/php-fpm -F
  cordon run --rootfs /srv/images/alpine --listen 8080 -- /bin/busybox httpd -f -p 8080
  cordon run -t -- /bin/bash              an interactive shell with job control
  cordon run --unshare-all --share-net --setenv HOME /tmp --chdir /tmp -- /bin/sh   (bwrap's spelling)
`;

/** `--flag VALUES`, e.g. `--bind SRC DST`. */
export function spelling(name: string, row: FlagRow): string {
  return [name, ...row.values.map((value) => value.name)].join(' ');
}

function spellings(row: FlagRow): string {
  return [row.flag, ...(row.aliases ?? [])].map((name) => spelling(name, row)).join(', ');
}

function wrap(words: readonly string[], indent: string, width = 78): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of words) {
    if (line.length > indent.length && line.length + word.length + 1 > width) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${word} `;
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines;
}

/** The whole `cordon --help` / `cordon run --help` text. */
export function renderHelp(): string {
  const sections: string[] = [USAGE_HEAD.trimEnd()];
  for (const [group, title] of Object.entries(FLAG_GROUPS) as [keyof typeof FLAG_GROUPS, string][]) {
    const rows = FLAGS.filter((row) => row.group === group);
    const lines = [`${title}:`];
    if (group === 'refused') {
      lines.push(...wrap(rows.map((row, i) => `${spelling(row.flag, row)}${i < rows.length - 1 ? ',' : ''}`), '  '));
    } else {
      for (const row of rows) {
        const left = `  ${spellings(row)}`;
        const help = `${row.help}${row.repeatable === true ? '; repeatable' : ''}`;
        lines.push(left.length < 25 ? `${left.padEnd(26)}${help}` : `${left}  ${help}`);
      }
    }
    sections.push(lines.join('\n'));
  }
  return `${sections.join('\n\n')}\n`;
}

const cell = (value: string): string => value.replace(/\|/g, '\\|');
const code = (value: string): string => (value === '' ? '' : `\`${value.replace(/\|/g, '\\|')}\``);

/** The README's table of run's flags (all but the bwrap flags cordon refuses). */
export function renderFlagTable(): string {
  const lines = ['| flag | option | meaning |', '|---|---|---|'];
  for (const row of FLAGS) {
    if (row.group === 'refused') continue;
    const names = [row.flag, ...(row.aliases ?? [])].map((name) => code(spelling(name, row))).join(', ');
    lines.push(`| ${names} | ${code(row.option)} | ${cell(row.help)}${row.repeatable === true ? '; repeatable' : ''} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README's "For bubblewrap users" table: every bwrap flag cordon knows, and how it compares. */
export function renderBwrapTable(): string {
  const lines = ['| bwrap | cordon | compared with bwrap |', '|---|---|---|'];
  for (const row of FLAGS) {
    if (row.bwrap === undefined) continue;
    const cordon = row.group === 'refused' ? 'refused (exit 125)' : row.bwrap.flag === row.flag ? 'accepted' : `accepted: cordon's ${code(spelling(row.flag, row))}`;
    lines.push(`| ${code(spelling(row.bwrap.flag, row))} | ${cordon} | ${cell(row.bwrap.compared)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Marked regions of README.md and what belongs in them. */
export const README_REGIONS = {
  'cli-flags': renderFlagTable,
  'bwrap-flags': renderBwrapTable,
} as const;

/** README text with each marked region (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`) made anew. */
export function updateReadme(readme: string): string {
  let updated = readme;
  for (const [name, render] of Object.entries(README_REGIONS)) {
    const begin = `<!-- ${name}:begin (made by scripts/cli-docs.js from lib/cli-flags.ts) -->\n`;
    const end = `<!-- ${name}:end -->`;
    const from = updated.indexOf(begin);
    const to = updated.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no region ${name} (${begin.trim()} ... ${end})`);
    updated = `${updated.slice(0, from + begin.length)}${render()}${updated.slice(to)}`;
  }
  return updated;
}
