/**
 * `cx completion bash|zsh|fish`: shell completion written from the command definitions themselves
 * (as docs/cli.md is), so that it cannot drift from what `cx` accepts — commands, their flags,
 * the resource kinds of `get`, the `-o` formats. Names are asked of the server (`cx get KIND
 * [-c CLUSTER] -o name`): clusters after `-c` and for the cluster verbs; in bash also the nodes,
 * addons, ha-configs and snapshots of the `-c` cluster for the verbs that take one.
 */
import type { Command, Option } from 'commander';
import { RESOURCE_KINDS } from './resources.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: Option[];
}

const visible = (command: Command): Command[] => command.commands.filter((c) => c.name() !== 'help');

function walk(command: Command, path = 'cx'): Node[] {
  const node: Node = {
    path,
    subcommands: visible(command).flatMap((c) =>
      [c.name(), ...c.aliases()].map((name) => ({ name, description: c.description() })),
    ),
    options: command.options.filter((o) => !o.hidden),
  };
  return [
    node,
    ...visible(command).flatMap((c) => [c.name(), ...c.aliases()].flatMap((name) => walk(c, `${path} ${name}`))),
  ];
}

const flagsOf = (option: Option): string[] => [option.short, option.long].filter((f): f is string => Boolean(f));
/** Options that must have a value (the next word is theirs, not a command). */
const takesValue = (option: Option): boolean => option.required;
const OUTPUTS = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath='];
const KINDS = RESOURCE_KINDS.map((k) => k.plural);
/** Commands whose argument is a name of a kind (of the -c cluster, but for clusters). */
const NAMED: Record<string, string[]> = {
  clusters: [
    'cx scale',
    'cx upgrade',
    'cx os-upgrade',
    'cx rotate certificates',
    'cx rotate ca',
    'cx delete cluster',
    'cx kubeconfig',
    'cx kubeconfig credential',
  ],
  nodes: ['cx cordon', 'cx uncordon', 'cx drain', 'cx delete node'],
  addons: ['cx addon remove', 'cx addon uninstall'],
  'ha-configs': ['cx ha-config apply', 'cx ha-config delete'],
  'etcd-snapshots': ['cx etcd restore', 'cx etcd delete'],
};
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export function completionScript(shell: Shell, program: Command): string {
  const nodes = walk(program);
  const globals = program.options.filter((o) => !o.hidden);
  if (shell === 'fish') return fish(nodes, globals);
  const script = bash(nodes, globals);
  // zsh runs the bash function through its bash-completion layer: one script, the same answers.
  return shell === 'zsh'
    ? `#compdef cx\n# cx completion for zsh: source <(cx completion zsh)\nautoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${script}`
    : script;
}

function bash(nodes: Node[], globals: Option[]): string {
  const valueFlags = new Set([...globals, ...nodes.flatMap((n) => n.options)].filter(takesValue).flatMap(flagsOf));
  const cases = (pick: (n: Node) => string[]): string =>
    nodes
      .map((n) => [n.path, pick(n)] as const)
      .filter(([, words]) => words.length > 0)
      .map(([path, words]) => `    ${quote(path)}) echo ${quote(words.join(' '))} ;;`)
      .join('\n');
  return `# cx completion for bash: source <(cx completion bash), or write it to /etc/bash_completion.d/cx
_cx_subcommands() {
  case "$1" in
${cases((n) => n.subcommands.map((s) => s.name))}
  esac
}
_cx_options() {
  case "$1" in
${cases((n) => n.options.flatMap(flagsOf))}
  esac
}
_cx_names() {
  # $1 a kind, $2 the cluster (kinds of a cluster): names asked of the server with the cx typed; none when it cannot answer.
  "\${COMP_WORDS[0]}" get "$1" \${2:+-c "$2"} -o name 2>/dev/null | sed 's|^[^/]*/||'
}
_cx() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local path=cx word i positional=() cluster= names=
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      -c|--cluster) cluster="\${COMP_WORDS[i+1]}"; ((i++)) ;;
      --cluster=*) cluster="\${word#*=}" ;;
      -*=*) ;;
      ${[...valueFlags].join('|')}) ((i++)) ;;
      -*) ;;
      *)
        if [[ " $(_cx_subcommands "$path") " == *" $word "* ]]; then path="$path $word"; else positional+=("$word"); fi
        ;;
    esac
  done
  case "$prev" in
    -c|--cluster) COMPREPLY=($(compgen -W "$(_cx_names clusters)" -- "$cur")); return ;;
    -o|--output) COMPREPLY=($(compgen -W ${quote(OUTPUTS.join(' '))} -- "$cur")); return ;;
    -f|--filename|--values) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${[...valueFlags].join('|')}) COMPREPLY=(); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_cx_options "$path") ${globals.flatMap(flagsOf).join(' ')} --help" -- "$cur"))
    return
  fi
  case "$path" in
    'cx get'|'cx describe')
      if ((\${#positional[@]} == 0)); then
        names=${quote(KINDS.join(' '))}
      elif [[ "\${positional[0]}" == cluster* ]]; then
        names="$(_cx_names clusters)"
      elif [[ -n "$cluster" ]]; then
        names="$(_cx_names "\${positional[0]}" "$cluster")"
      fi
      ;;
${Object.entries(NAMED)
  .map(
    ([kind, paths]) =>
      `    ${paths.map(quote).join('|')}) names="$(_cx_names ${kind}${kind === 'clusters' ? '' : ' "$cluster"'})" ;;`,
  )
  .join('\n')}
  esac
  COMPREPLY=($(compgen -W "$(_cx_subcommands "$path") $names" -- "$cur"))
}
complete -F _cx cx
`;
}

function fish(nodes: Node[], globals: Option[]): string {
  const lines = [
    '# cx completion for fish: cx completion fish > ~/.config/fish/completions/cx.fish',
    '# The command path typed so far (cx, cx get, cx etcd snapshot, …): the words that are commands.',
    'function __cx_path',
    '    set -l path cx',
    '    for word in (commandline -opc)[2..-1]',
    '        if contains -- $word (__cx_subcommands $path)',
    '            set path "$path $word"',
    '        end',
    '    end',
    '    echo $path',
    'end',
    'function __cx_subcommands',
    '    switch $argv[1]',
    ...nodes
      .filter((n) => n.subcommands.length > 0)
      .flatMap((n) => [
        `        case ${quote(n.path)}`,
        `            printf '%s\\n' ${n.subcommands.map((s) => quote(s.name)).join(' ')}`,
      ]),
    '    end',
    'end',
    'function __cx_at',
    '    test (__cx_path) = "$argv[1]"',
    'end',
    'function __cx_clusters',
    "    cx get clusters -o name 2>/dev/null | string replace -r '^[^/]*/' ''",
    'end',
    'complete -c cx -f',
  ];
  const option = (o: Option, condition?: string): string => {
    const parts = ['complete -c cx'];
    if (condition) parts.push(`-n ${quote(condition)}`);
    if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
    if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
    if (takesValue(o)) parts.push('-r');
    if (o.long === '--cluster') parts.push("-a '(__cx_clusters)'");
    if (o.long === '--output') parts.push(`-a ${quote(OUTPUTS.join(' '))}`);
    if (o.long === '--filename' || o.long === '--values') parts.push('-F');
    parts.push(`-d ${quote(o.description)}`);
    return parts.join(' ');
  };
  for (const o of globals) lines.push(option(o));
  for (const node of nodes) {
    const at = `__cx_at ${quote(node.path)}`;
    for (const sub of node.subcommands)
      lines.push(`complete -c cx -n ${quote(at)} -a ${quote(sub.name)} -d ${quote(sub.description.slice(0, 80))}`);
    for (const o of node.options) lines.push(option(o, at));
  }
  for (const path of ['cx get', 'cx describe'])
    lines.push(`complete -c cx -n ${quote(`__cx_at '${path}'`)} -a ${quote(KINDS.join(' '))}`);
  return `${lines.join('\n')}\n`;
}
