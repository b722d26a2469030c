import { describe, it, expect } from 'vitest';
import { ProtobufReader } from '../protocols/index.ts';

describe('protobuf reader', () => {
  it('reads a length prefix and checks it against the message', () => {
    const r = new ProtobufReader(Uint8Array.from([0x03, 1, 2, 3]));
    expect(r.lenEnd()).toBe(4);
    expect(() => new ProtobufReader(Uint8Array.from([0x05, 1, 2])).lenEnd()).toThrow(/runs past the end/);
  });

  it('rejects a length prefix of 2^32 or more instead of truncating it (regression)', () => {
    // varint 2^32 + 5: low 32 bits are 5, which must not be read as length 5
    const bytes = Uint8Array.from([0x85, 0x80, 0x80, 0x80, 0x10, 1, 2, 3, 4, 5]);
    expect(() => new ProtobufReader(bytes).lenEnd()).toThrow(/larger than 2\^32/);
    // 2^32 - 1 in five bytes is a valid (if too long for this body) length
    expect(() => new ProtobufReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])).lenEnd()).toThrow(/runs past the end/);
  });
});
