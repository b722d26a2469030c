import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOG, FleetwatchError } from '../core/index.ts';

describe('error catalog', () => {
  const doc = readFileSync(path.resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');
  it.each(Object.keys(ERROR_CATALOG))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/`(FW_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(ERROR_CATALOG)).toContain(code);
  });

  it('marks overload and unavailability retryable, client mistakes not', () => {
    expect(new FleetwatchError('FW_ERR_INGEST_OVERLOADED').retryable).toBe(true);
    expect(new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE').retryable).toBe(true);
    expect(new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST').retryable).toBe(false);
    expect(new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', 'at byte 3').message).toBe('the request body could not be decoded: at byte 3');
  });
});
