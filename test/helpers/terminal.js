// Drives a terminal from a test: collects what a stream shows and waits for
// patterns in it (events, never time). Used with a box's `tty` (box.stdout)
// and with `script` running the CLI under a terminal of its own.
'use strict';

class TerminalReader {
  /** @param {import('node:stream').Readable} stream */
  constructor(stream) {
    this.text = '';
    this.from = 0;
    this.ended = false;
    this.waiters = [];
    stream.on('data', (chunk) => {
      this.text += chunk.toString('utf8');
      this.check();
    });
    const end = () => {
      this.ended = true;
      this.check();
    };
    stream.on('end', end);
    stream.on('close', end);
  }

  check() {
    this.waiters = this.waiters.filter((waiter) => {
      const match = waiter.pattern.exec(this.text.slice(this.from));
      if (match) {
        this.from += match.index + match[0].length;
        waiter.resolve(match);
        return false;
      }
      if (this.ended) {
        waiter.reject(new Error(`the terminal ended before ${waiter.pattern} appeared; it showed:\n${JSON.stringify(this.text)}`));
        return false;
      }
      return true;
    });
  }

  /** Resolves with the first match of `pattern` after the previous match. */
  waitFor(pattern) {
    return new Promise((resolve, reject) => {
      this.waiters.push({ pattern, resolve, reject });
      this.check();
    });
  }
}

module.exports = { TerminalReader };
