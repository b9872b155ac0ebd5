/**
 * What a line typed into `backchannel chat` asks for. Plain text goes to everyone; a leading slash is a
 * command; a leading double slash sends the rest, starting with one slash, as text.
 */
export type ChatInput =
  | { kind: 'say'; text: string }
  | { kind: 'to'; name: string; text: string }
  | { kind: 'who' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

export const CHAT_HELP = [
  'type a line to send it to everyone in the call',
  '/to NAME message    send to one participant ("quote" names with spaces)',
  '/who                list the participants',
  '/quit               leave the call (so does end of input)',
  '//text              send text that starts with a slash',
];

export function parseChatLine(line: string): ChatInput {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  if (trimmed.startsWith('//')) return { kind: 'say', text: trimmed.slice(1) };
  if (!trimmed.startsWith('/')) return { kind: 'say', text: line };
  const [command = '', rest = ''] = splitFirst(trimmed.slice(1));
  switch (command.toLowerCase()) {
    case 'to':
    case 'msg':
      return parseTo(rest);
    case 'who':
      return { kind: 'who' };
    case 'help':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'invalid', message: `unknown command /${command}; /help lists the commands` };
  }
}

/** `NAME message` or `"NAME WITH SPACES" message`. */
function parseTo(rest: string): ChatInput {
  let name: string;
  let text: string;
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    if (close < 0) return { kind: 'invalid', message: 'unclosed quote in /to "NAME" message' };
    name = rest.slice(1, close);
    text = rest.slice(close + 1).trim();
  } else {
    [name = '', text = ''] = splitFirst(rest);
  }
  if (name === '' || text === '') return { kind: 'invalid', message: 'usage: /to NAME message' };
  return { kind: 'to', name, text };
}

/** The first word and the rest, both trimmed. */
function splitFirst(text: string): [string, string] {
  const match = /^(\S*)\s*([\s\S]*)$/.exec(text.trim());
  return [match?.[1] ?? '', match?.[2]?.trim() ?? ''];
}
