/**
 * The one argument helper for every command in the repository: the infera CLI, npm start, the
 * scripts and the benchmarks. It parses with node:util's parseArgs (strict: an unknown flag is an
 * error), adds -h/--help, prints the command's help, and turns every usage mistake into the same
 * error: the message, "See: <command> --help", exit code 2.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { CliError } from './common.ts';

/** A command as its user types it, its help text, and its flags (without --help). */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** How the user runs it, for "See: <name> --help", e.g. "infera batch submit" or "npm run traffic --". */
  readonly name: string;
  readonly help: string;
  readonly options: O;
  /** Whether the command takes positional arguments (default: no; one is then a usage error). */
  readonly positionals?: boolean;
  /** Whether boolean flags take a --no- form, e.g. --no-batch. */
  readonly allowNegative?: boolean;
}

const HELP_FLAG = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** A usage mistake: the message, where the help is, exit code 2. */
export function usageError(command: string, message: string): CliError {
  return new CliError(message, [`See: ${command} --help`], 2);
}

/**
 * Parses argv for a command. Returns undefined after printing the help for -h/--help; throws a
 * usage error (exit 2) for an unknown flag, a missing flag value, or a positional argument to a
 * command that takes none.
 */
export function parseCommand<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>, argv: string[]) {
  let parsed: ReturnType<typeof parse<O>>;
  try {
    parsed = parse(spec, argv);
  } catch (err) {
    throw usageError(spec.name, (err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(spec.help);
    return undefined;
  }
  if (!spec.positionals && parsed.positionals.length > 0) {
    throw usageError(
      spec.name,
      `Unexpected argument '${parsed.positionals[0]}'. This command takes no arguments.`,
    );
  }
  return parsed;
}

function parse<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>, argv: string[]) {
  return parseArgs({
    args: argv,
    options: { ...spec.options, ...HELP_FLAG } as O & typeof HELP_FLAG,
    allowPositionals: true as const,
    allowNegative: spec.allowNegative ?? false,
    strict: true as const,
  });
}

export interface NumberRange {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
}

/**
 * A numeric flag's value, checked against its range before any work: "--rate must be a number
 * from 0.1 to 10000, got 'fast'." Undefined when the flag is absent and has no default.
 */
export function numberFlag(
  command: string,
  flag: string,
  raw: string | undefined,
  range: NumberRange,
): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  const ok =
    Number.isFinite(v) && v >= range.min && v <= range.max && (!range.integer || Number.isInteger(v));
  if (!ok) {
    const kind = range.integer ? 'a whole number' : 'a number';
    throw usageError(command, `--${flag} must be ${kind} from ${range.min} to ${range.max}, got '${raw}'.`);
  }
  return v;
}

/**
 * Runs a command's main as a process, as the infera CLI does: a CliError prints `error: <message>`
 * and its details to stderr and exits with its code (2 for usage); anything else prints its stack
 * and exits 1. A main that returns a negative number keeps running (a server).
 */
export async function runMain(main: () => Promise<number | undefined> | Promise<void>): Promise<void> {
  try {
    const code = await main();
    if (typeof code === 'number' && code >= 0) process.exitCode = code;
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`error: ${err.message}`);
      for (const d of err.details) console.error(`  ${d}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(`error: ${(err as Error).stack ?? err}`);
      process.exitCode = 1;
    }
  }
}
