// File writes shared by the WAL and the embedded store's insert spool.
import type { FileHandle } from 'node:fs/promises';

/** writev takes at most IOV_MAX (1024 on Linux) buffers per call */
const MAX_IOV = 512;

/** Writes the buffers back to back from `position`, finishing short writes. */
export async function writeAllAt(fh: FileHandle, bufs: readonly Uint8Array[], position: number): Promise<void> {
  let pos = position;
  for (let i = 0; i < bufs.length; i += MAX_IOV) {
    const part = bufs.slice(i, i + MAX_IOV);
    const want = part.reduce((a, b) => a + b.length, 0);
    const { bytesWritten } = await fh.writev(part, pos);
    if (bytesWritten < want) {
      // a short write: finish the rest from one buffer
      const rest = Buffer.concat(part).subarray(bytesWritten);
      let done = 0;
      while (done < rest.length) {
        const r = await fh.write(rest, done, rest.length - done, pos + bytesWritten + done);
        if (r.bytesWritten === 0) throw new Error('write made no progress');
        done += r.bytesWritten;
      }
    }
    pos += want;
  }
}

