import { Command } from 'commander';
import { UsageError } from '../params';

/** Every command path with its subcommands and options, from the program itself. */
function tree(
  command: Command,
  path: string[] = [],
): { path: string[]; words: string[] }[] {
  const subs = command.commands.filter(c => c.name() !== 'help');
  const words = [
    ...subs.flatMap(c => [c.name(), ...c.aliases()]),
    ...command.options.flatMap(o =>
      [o.long, o.short].filter((x): x is string => Boolean(x)),
    ),
    '--help',
  ];
  return [{ path, words }, ...subs.flatMap(c => tree(c, [...path, c.name()]))];
}

function bash(program: Command): string {
  const all = tree(program);
  const paths = all
    .filter(t => t.path.length)
    .map(t => `"${t.path.join(' ')}"`)
    .join('|');
  const cases = all
    .map(
      ({ path, words }) =>
        `    "${path.join(' ')}") words="${words.join(' ')}" ;;`,
    )
    .join('\n');
  return `# bash completion for idp: eval "$(idp completion bash)"
_idp() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w words=""
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    next="\${path:+$path }$w"
    case "$next" in ${paths}) path="$next" ;; esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _idp idp
`;
}

function zsh(program: Command): string {
  return `#compdef idp
# zsh completion for idp: eval "$(idp completion zsh)"
autoload -U bashcompinit && bashcompinit
${bash(program)}`;
}

function fish(program: Command): string {
  return tree(program)
    .flatMap(({ path, words }) => {
      const condition = path.length
        ? `__fish_seen_subcommand_from ${path[path.length - 1]}`
        : '__fish_use_subcommand';
      return words
        .filter(w => !w.startsWith('-'))
        .map(w => `complete -c idp -f -n '${condition}' -a '${w}'`);
    })
    .join('\n')
    .concat('\n');
}

export function completionCommands(program: Command): Command[] {
  return [
    new Command('completion')
      .description(
        'Print a shell completion script: eval "$(idp completion bash)"',
      )
      .argument('<shell>', 'bash, zsh or fish')
      .action((shell: string) => {
        const scripts: Record<string, (p: Command) => string> = {
          bash,
          zsh,
          fish,
        };
        const make = scripts[shell];
        if (!make)
          throw new UsageError(
            `no completion for '${shell}': use bash, zsh or fish`,
          );
        process.stdout.write(make(program));
      }),
  ];
}
