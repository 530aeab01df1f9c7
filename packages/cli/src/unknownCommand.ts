import { Command } from 'commander';

/**
 * The edit distance between two words: insertions, deletions, substitutions and swaps of
 * two neighbours (`creaet` is one from `create`) each count one.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d[i] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[i][j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name closest to what was typed: one it begins (the shortest such), else the one
 * fewest edits away; among equals, the first in alphabetical order.
 */
export function closestName(
  typed: string,
  known: readonly string[],
): string | undefined {
  const word = typed.toLowerCase();
  const names = [...known].sort();
  const prefixed = names
    .filter(n => word.length > 0 && n.toLowerCase().startsWith(word))
    .sort((a, b) => a.length - b.length);
  if (prefixed.length) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(word, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function path(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent)
    names.unshift(c.name());
  return names.join(' ');
}

/**
 * Ends the run with a usage error (exit code 2) naming the unknown subcommand of `command`
 * and the closest one it has, as kubectl and gh do.
 */
function refuse(command: Command, typed: string): never {
  const known = command.commands.flatMap(c => [c.name(), ...c.aliases()]);
  const closest = closestName(typed, known);
  const where = path(command);
  return command.error(
    [
      `error: unknown command '${typed}' for '${where}'`,
      ...(closest ? [`Did you mean '${where} ${closest}'?`] : []),
    ].join('\n'),
    { code: 'idp.unknownCommand', exitCode: 2 },
  );
}

/**
 * Makes a command with subcommands refuse a word that names none of them. `--help` still
 * wins: `idp clusters --help` prints the help of `idp` (commander answers it before this).
 */
export function refuseUnknownSubcommands(command: Command) {
  if (!command.commands.length) return;
  // A group without an action of its own: commander hands this event the operands that
  // name none of its subcommands.
  command.on('command:*', (operands: string[]) => refuse(command, operands[0]));
  // A group that is also a command (`idp audit` lists, `idp audit verify` verifies) and
  // takes no operands: its first operand is a mistyped subcommand.
  if (command.registeredArguments.length) return;
  command.allowExcessArguments(true);
  command.hook('preAction', (_hooked, actionCommand) => {
    if (actionCommand === command && command.args.length) {
      refuse(command, command.args[0]);
    }
  });
}
