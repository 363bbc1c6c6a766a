// How a text value is spelled so each reader reads back exactly that text.

/** One nginx word: as is when the tokenizer reads it back unchanged, else double-quoted. */
export function nginxWord(text: string): string {
  if (text !== "" && !/[\s;{}"'\\]/.test(text) && !text.startsWith("#")) return text;
  const escaped = text
    .replace(/[\\"]/g, "\\$&")
    .replace(/\t/g, "\\t")
    .replace(/\r/g, "\\r")
    .replace(/\n/g, "\\n");
  return `"${escaped}"`;
}

/** A YAML scalar that reads back as the same string: plain when that is safe, else quoted. */
export function yamlScalar(text: string): string {
  const plain = /^[A-Za-z_/][A-Za-z0-9_./-]*$/.test(text) && !/^(true|false|yes|no|on|off|y|n|null)$/i.test(text);
  // JSON's string syntax is valid YAML double-quoted syntax.
  return plain ? text : JSON.stringify(text);
}
