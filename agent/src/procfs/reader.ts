import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Re-reads small /proc files through descriptors kept open: a pread from offset 0 returns fresh
 * contents, so each sample costs one syscall per file instead of open/stat/read/close through
 * the thread pool (which cost more CPU than the parsing at 10 Hz). /proc reads never block on disk.
 */
export class ProcFiles {
  private readonly fds = new Map<string, number>();
  private buf = Buffer.allocUnsafe(64 * 1024);

  read(file: string): string {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, 'r');
      this.fds.set(file, fd);
    }
    for (;;) {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      if (n < this.buf.length) return this.buf.toString('utf8', 0, n);
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
    }
  }

  /** Forgets a file (its process exited); the next read opens it anew. */
  drop(file: string): void {
    const fd = this.fds.get(file);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(file);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
