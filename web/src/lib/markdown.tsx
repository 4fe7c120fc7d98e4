/**
 * Inline markdown of the workflow's messages (findings, step details, questions,
 * criteria): `code`, **bold**, *emphasis* and [links](https://...), rendered as
 * React elements (never as HTML, so nothing in a message can inject markup). Text
 * without markup comes back as it is.
 */
import { Fragment, type ReactNode } from 'react';

const TOKEN = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;

export function renderInline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    if (m[1] !== undefined) out.push(<code key={key++}>{m[1]}</code>);
    else if (m[2] !== undefined) out.push(<strong key={key++}>{m[2]}</strong>);
    else if (m[3] !== undefined) out.push(<em key={key++}>{m[3]}</em>);
    else if (m[4] !== undefined)
      out.push(
        <a key={key++} href={m[5]} target="_blank" rel="noreferrer noopener">
          {m[4]}
        </a>,
      );
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** `text` with its inline markdown rendered (see the module doc). */
export function Md({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return <Fragment>{renderInline(text)}</Fragment>;
}
