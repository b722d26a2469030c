// SQL built from parts: text with {name:Type} placeholders plus typed
// parameters. Values never go into the text; identifiers only through ident().

export interface Sql {
  readonly sql: string;
  readonly params: Readonly<Record<string, unknown>>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes an identifier that is known-safe (schema names, allow-listed columns). */
export function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`unsafe SQL identifier: ${JSON.stringify(name)}`);
  return name;
}

let seq = 0;

/**
 * A builder that hands out unique parameter names:
 *   const q = new SqlBuilder(); q.add(`tenant = ${q.param('String', t)}`)
 */
export class SqlBuilder {
  private readonly parts: string[] = [];
  private readonly values: Record<string, unknown> = {};
  private readonly prefix = `p${(seq++ % 1e6).toString(36)}_`;
  private n = 0;

  /** Registers a value and returns its placeholder, e.g. {p0_1:String}. */
  param(type: string, value: unknown): string {
    const name = `${this.prefix}${this.n++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }

  add(text: string): this {
    this.parts.push(text);
    return this;
  }

  build(): Sql {
    return { sql: this.parts.join(' '), params: { ...this.values } };
  }
}

export function sql(text: string, params: Record<string, unknown> = {}): Sql {
  return { sql: text, params };
}
