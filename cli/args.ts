// Command-line parsing: `fleetwatch <role> [--flag value | --flag=value | --bool]`.

export interface ParsedArgs {
  readonly role: string | undefined;
  readonly flags: Record<string, string | boolean>;
  readonly help: boolean;
  readonly configFile: string | undefined;
}

const BOOLEAN_FLAGS = new Set(['require-tenant', 'help']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  let role: string | undefined;
  const flags: Record<string, string | boolean> = {};
  let help = false;
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      let value: string | boolean;
      if (eq > 0) value = a.slice(eq + 1);
      else if (BOOLEAN_FLAGS.has(name)) value = argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i] === 'true' : true;
      else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new Error(`flag --${name} needs a value`);
        value = next;
        i++;
      }
      if (name === 'config') configFile = String(value);
      else flags[name] = value;
      continue;
    }
    if (role === undefined) role = a;
    else throw new Error(`unexpected argument "${a}"`);
  }
  return { role, flags, help, configFile };
}
