/**
 * The little YAML the hand-off writes: every string from the workspace (names, addresses, users,
 * scripts) as a double-quoted scalar with every character outside printable ASCII escaped, so no
 * value can end its line, open a new key or change the document's structure. `unsafe` adds
 * Ansible's `!unsafe` tag: Ansible then never evaluates `{{ … }}` or `{% … %}` inside the value
 * (a host name or a package script cannot run Jinja on the controller).
 */

/** A YAML double-quoted scalar (PyYAML reads `\xNN`, `\uNNNN` and `\UNNNNNNNN`). */
export function yamlString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\ufffd';
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A string Ansible keeps as it is: `!unsafe "…"`. */
export function yamlUnsafe(value: string): string {
  return `!unsafe ${yamlString(value)}`;
}

/** A comment line: what follows `# ` on one line, control characters and line breaks replaced. */
export function yamlComment(text: string): string {
  // eslint-disable-next-line no-control-regex
  return `# ${text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')}`.trimEnd();
}
