// What the bench commands (`npm run bench`, `npm run bench:load`) share at their start: the
// command line read or the process left with a clear answer, and the commit a report names.
import { execSync } from 'node:child_process';

/** A command line's problems, each naming its flag; the command exits with code 2. */
export class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'UsageError';
  }
}

/** A command line parsed: its options, or a request for the help text. */
export interface ParsedArgs<T> {
  readonly help: boolean;
  readonly options?: T;
}

export interface Command<T> {
  /** How problems are prefixed and the help is named: `bench`, `bench:load`. */
  readonly name: string;
  readonly help: string;
  /** Throws UsageError for a bad command line (parseArgs' own errors included). */
  readonly parse: (argv: readonly string[]) => ParsedArgs<T>;
}

export interface Console {
  out(text: string): void;
  err(text: string): void;
  exit(code: number): never;
}

const PROCESS: Console = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/**
 * The options, or the process ends: with the help text and code 0 on --help, with every
 * problem on its own line (naming its flag) and code 2 on a bad command line. Any other error
 * is a bug and is thrown as it is.
 */
export function optionsOrExit<T>(argv: readonly string[], command: Command<T>, io: Console = PROCESS): T {
  let parsed: ParsedArgs<T>;
  try {
    parsed = command.parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const lines = err.problems.map((p) => `${command.name}: ${p}`);
    io.err(`${lines.join('\n')}\n(npm run ${command.name} -- --help)\n`);
    return io.exit(2);
  }
  if (!parsed.help && parsed.options !== undefined) return parsed.options;
  io.out(`${command.help}\n`);
  return io.exit(0);
}

/** The checkout's short commit, or `unknown` outside a checkout. */
export function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}
